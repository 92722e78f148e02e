"""The shared-state contract: what evaluator replicas must agree on, behind one small async interface.

Four things are shared, one module each:

- paused scorers (:mod:`~evaluator_service.state.pauses`): a judge rejecting our credentials on one
  replica must stop the scorer on all of them;
- uploaded scorers (:mod:`~evaluator_service.state.scorer_versions`): metadata, source and requirements
  text, so any replica can run a scorer uploaded through another one's admin API;
- alerts (:mod:`~evaluator_service.state.alert_rows`, :mod:`~evaluator_service.state.alert_outbox`,
  :mod:`~evaluator_service.state.alert_silences`): status, window counts, history, the notification outbox
  and silences, so two replicas notify once;
- behaviors (:mod:`~evaluator_service.state.behavior_rows`): groups of similar failures, with their issue
  lifecycle and operators' decisions (:mod:`~evaluator_service.state.behavior_issue_rows`) and the durable
  lifecycle event log (:mod:`~evaluator_service.state.behavior_event_rows`);
- sessions (:mod:`~evaluator_service.state.session_rows`): the parts of a session the replicas hold, and a
  lease so exactly one replica scores it;
- console data (:mod:`~evaluator_service.state.console_rows`, read by
  :mod:`~evaluator_service.state.console_reads`): score rollups every replica adds to, the bounded list of
  failing interactions, and spans that asked for a score and got none;
- datasets (:mod:`~evaluator_service.state.dataset_rows`): named, versioned sets of interaction records;
- judge calibration: people's labels on dataset records (:mod:`~evaluator_service.state.dataset_labels`) and
  each scorer's pass/fail counts (:mod:`~evaluator_service.state.scorer_outcome_counts`).
- scorer versions in production and in shadow (:mod:`~evaluator_service.state.scorer_pointers`) and the
  shadow results compared before a promotion (:mod:`~evaluator_service.state.shadow_rows`).

The durable span queue is *not* here: each replica owns the spans the collector's load balancer sent it.

Every write other replicas must hear about (pauses, uploads and deletes, new and renamed behaviors) bumps
one change counter in the same transaction, so a replica notices it with one cheap ``SELECT`` (see
:class:`~evaluator_service.state.watch.ChangeWatcher`). Implementations raise :class:`StateUnavailable`
for any database failure, never a driver exception.
"""

from __future__ import annotations

from typing import Protocol

from evaluator_service.errors import EvaluatorError
from evaluator_service.state.alert_outbox import AlertOutboxState
from evaluator_service.state.alert_rows import AlertState
from evaluator_service.state.alert_silences import AlertSilenceState
from evaluator_service.state.backfill_rows import BackfillState
from evaluator_service.state.behavior_event_rows import BehaviorEventRows
from evaluator_service.state.behavior_issue_rows import BehaviorIssueState
from evaluator_service.state.behavior_rows import BehaviorState
from evaluator_service.state.behavior_samples import BehaviorSampleState
from evaluator_service.state.console_reads import ConsoleReadState
from evaluator_service.state.console_rows import ConsoleRowState
from evaluator_service.state.dataset_labels import DatasetLabelState
from evaluator_service.state.dataset_rows import DatasetState
from evaluator_service.state.pauses import PauseState
from evaluator_service.state.replay_runs import ReplayRunState
from evaluator_service.state.scorer_outcome_counts import ScorerOutcomeCountState
from evaluator_service.state.scorer_pointers import ScorerPointerState
from evaluator_service.state.scorer_versions import ScorerVersionState
from evaluator_service.state.session_rows import SessionState
from evaluator_service.state.shadow_rows import ShadowResultState

__all__ = ["SharedState", "StateUnavailable"]


class StateUnavailable(EvaluatorError):
    """The state database cannot be reached or refused the operation; the message never holds a password."""


class SharedState(PauseState, ScorerVersionState, AlertState, AlertOutboxState, AlertSilenceState,
                  BehaviorState, BehaviorIssueState, BehaviorEventRows, SessionState, BehaviorSampleState,
                  DatasetState, DatasetLabelState, ScorerOutcomeCountState, ScorerPointerState,
                  ShadowResultState, ConsoleRowState, ConsoleReadState, BackfillState, ReplayRunState,
                  Protocol):
    """Pauses, uploaded scorers, alerts, behaviors (with their lifecycle and event log) and sessions shared
    by every replica using the same database URL."""

    display_url: str
    """The database URL with any password masked, for messages."""

    async def open(self) -> None:
        """Connect and create the schema if missing (idempotent); :class:`StateUnavailable` if unreachable."""
        ...

    async def close(self) -> None:
        """Release the connection; the object cannot be used afterwards."""
        ...

    async def change_counter(self) -> int:
        """A number that grows with every write other replicas must hear about, by any replica."""
        ...
