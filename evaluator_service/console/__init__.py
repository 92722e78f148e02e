"""The data side of the console: what the evaluator records for it, and the read API the web app uses.

Layers, lowest first: ``settings`` (the ``console_data:`` config section) and ``reasons`` (why a span got no
score); ``recorder`` (an interaction sink and unscored-span observer that sums counters in memory and
flushes them to the shared state, :mod:`evaluator_service.state.console_rows`); ``views`` (the typed
answers) and ``queries`` (:class:`~evaluator_service.console.queries.ConsoleQueries`, the read API).
"""
