"""State that evaluator replicas share, in a real database: paused scorers, uploaded scorers with their
current and shadow versions and shadow results, alert state and behaviors (see
:mod:`evaluator_service.state.contract`).

::

    state = open_shared_state("postgresql://judgeval:secret@db:5432/judgeval")   # or sqlite:///PATH
    await state.open()          # StateUnavailable("state database postgresql://judgeval:***@db... ")
    ...
    await state.close()

The local span queue is not shared: each replica owns the spans the load balancer sent it.

Layers, lowest first (a module imports only modules above it in this list): ``dataset_schema``,
``loop_schema`` and ``console_schema`` (those parts' tables and statements), ``schema`` (every table, the
core statements) and ``transaction`` (the protocol backends provide); one module per concern (``pauses``,
``scorer_pointers`` (below ``scorer_versions``, which calls it inside uploads and deletes),
``scorer_versions``, ``shadow_rows``, ``alert_rows``, ``behavior_rows``, ``dataset_rows``, ...: its types,
its part of the contract, its SQL rows); ``contract`` (:class:`SharedState`, :class:`StateUnavailable`);
``sql_state`` (the concerns put together); the backends ``sqlite`` and ``postgres``; ``watch``. ``urls``
stands alone.
"""

from __future__ import annotations

from evaluator_service.state.contract import SharedState, StateUnavailable
from evaluator_service.state.pauses import PausedScorer
from evaluator_service.state.scorer_versions import ScorerFiles, StoredScorer, VersionChooser
from evaluator_service.state.sqlite import SqliteSharedState
from evaluator_service.state.urls import check_url, default_state_url, masked, sqlite_path
from evaluator_service.state.watch import ChangeWatcher

__all__ = [
    "ChangeWatcher",
    "PausedScorer",
    "ScorerFiles",
    "SharedState",
    "SqliteSharedState",
    "StateUnavailable",
    "StoredScorer",
    "VersionChooser",
    "check_url",
    "default_state_url",
    "masked",
    "open_shared_state",
]


def open_shared_state(url: str) -> SharedState:
    """The backend ``url`` selects (not yet connected: call ``await state.open()``).

    Raises :class:`StateUnavailable` for a URL no backend accepts."""
    problem = check_url(url)
    if problem is not None:
        raise StateUnavailable(f"state database {masked(url)} invalid: {problem}")
    path = sqlite_path(url)
    if path is not None:
        return SqliteSharedState(path)
    # Imported here so a single-node evaluator never loads the PostgreSQL driver.
    from evaluator_service.state.postgres import PostgresSharedState

    return PostgresSharedState(url)
