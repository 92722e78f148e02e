"""The web console: score trends, failing interactions, issues, alerts and scorers, served by the evaluator
on its own port (``console.listen``) from the shared state database, so any replica serves the same view.

:mod:`.web_settings` (the ``console:`` config section) imports nothing heavy; :mod:`.server` is the aiohttp
application, :mod:`.auth` the login and session cookie, the ``*_pages`` modules the pages.
"""
