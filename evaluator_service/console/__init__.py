"""The web console: score trends, failing interactions, issues, alerts and scorers, served by the evaluator
on its own port (``console.listen``) from the shared state database, so any replica serves the same view.

The data side, lowest first: ``settings`` (the ``console_data:`` config section) and ``reasons`` (why a
span got no score); ``recorder`` (an interaction sink and unscored-span observer that sums counters in
memory and flushes them to the shared state, :mod:`evaluator_service.state.console_rows`); ``views`` (the
typed answers) and ``queries`` (:class:`~evaluator_service.console.queries.ConsoleQueries`, the read API).

The web side: ``web_settings`` (the ``console:`` section; imports nothing heavy), ``server`` (the aiohttp
application), ``auth`` (login and the session cookie), ``request_context`` and the ``*_pages`` modules.
"""
