"""One implementation of :class:`~evaluator_service.state.contract.SharedState` over any SQL backend.

The four concerns are written once each, over :class:`~evaluator_service.state.transaction.Transaction`
(:class:`SqlPauses`, :class:`SqlScorerVersions`, :class:`SqlAlertRows`, :class:`SqlBehaviorRows`);
this class puts them together with the change counter. A backend subclasses it, connects, and supplies
``_transaction``, so both backends behave alike.
"""

from __future__ import annotations

from evaluator_service.state import schema
from evaluator_service.state.alert_outbox import SqlAlertOutbox
from evaluator_service.state.alert_rows import SqlAlertRows
from evaluator_service.state.alert_silences import SqlAlertSilences
from evaluator_service.state.backfill_rows import SqlBackfillRows
from evaluator_service.state.behavior_event_rows import SqlBehaviorEventRows
from evaluator_service.state.behavior_issue_rows import SqlBehaviorIssueRows
from evaluator_service.state.behavior_rows import SqlBehaviorRows
from evaluator_service.state.behavior_samples import SqlBehaviorSampleRows
from evaluator_service.state.console_reads import SqlConsoleReads
from evaluator_service.state.console_rows import SqlConsoleRows
from evaluator_service.state.dataset_labels import SqlDatasetLabels
from evaluator_service.state.dataset_rows import SqlDatasetRows
from evaluator_service.state.pauses import SqlPauses
from evaluator_service.state.replay_runs import SqlReplayRuns
from evaluator_service.state.scorer_outcome_counts import SqlScorerOutcomeCounts
from evaluator_service.state.scorer_pointers import SqlScorerPointers
from evaluator_service.state.scorer_versions import SqlScorerVersions
from evaluator_service.state.session_rows import SqlSessionRows
from evaluator_service.state.shadow_rows import SqlShadowRows


class SqlSharedState(SqlPauses, SqlScorerVersions, SqlAlertRows, SqlAlertOutbox, SqlAlertSilences,
                     SqlBehaviorRows, SqlBehaviorIssueRows, SqlBehaviorEventRows, SqlSessionRows,
                     SqlBehaviorSampleRows, SqlDatasetRows, SqlDatasetLabels, SqlScorerOutcomeCounts,
                     SqlScorerPointers, SqlShadowRows, SqlConsoleRows, SqlConsoleReads, SqlBackfillRows,
                     SqlReplayRuns):
    """Shared-state operations; subclasses connect and provide transactions."""

    display_url = ""

    async def change_counter(self) -> int:
        async with self._transaction() as tx:
            rows = await tx.execute(schema.READ_COUNTER)
        return int(rows[0][0]) if rows else 0
