"""The ``replay:`` section of the evaluator config: how many finished dataset replays are kept.

::

    replay:
      max_runs: 1000    # recorded replay runs (judgeval eval run) kept for the console; the oldest go first

Each ``RunEvaluation`` call's finished cases are recorded in the shared state as it runs (see
:mod:`evaluator_service.state.replay_runs`); the bound is applied in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from evaluator_service.config_values import Section


@dataclass(frozen=True)
class ReplayConfig:
    """Bounds of the recorded replay runs (see the module docstring)."""

    max_runs: int = 1000


def parse_replay(s: Section) -> ReplayConfig:
    """Validate the ``replay:`` section (absent: the defaults)."""
    s.reject_unknown(frozenset({"max_runs"}))
    return ReplayConfig(max_runs=s.integer("max_runs", ReplayConfig.max_runs, minimum=1))
