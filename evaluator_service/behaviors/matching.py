"""Which stored behavior a failing span joins: the clustering decision the state layer asks the caller for.

:func:`nearest_behavior` builds the :data:`~evaluator_service.state.behavior_rows.BehaviorChooser` that
:class:`~evaluator_service.behaviors.grouper.BehaviorGrouper` passes to ``record_failure``; the state calls
it under its per-scorer lock with the rows it has just read, and only writes what it picked.
"""

from __future__ import annotations

from collections.abc import Sequence

from evaluator_service.behaviors.vectors import nearest
from evaluator_service.state.behavior_rows import BehaviorChooser, FailureDraft, StoredBehavior


def nearest_behavior(threshold: float) -> BehaviorChooser:
    """A chooser joining the behavior whose centroid is most similar (cosine) to the failure's vector, if
    that similarity is at least ``threshold``; otherwise a new behavior is created. A centroid of another
    dimension (another model under the same space name) has similarity 0 and is never joined."""

    def choose(draft: FailureDraft, behaviors: Sequence[StoredBehavior]) -> StoredBehavior | None:
        best_id, similarity = nearest(draft.vector, [(b.id, b.centroid) for b in behaviors])
        if best_id is None or similarity < threshold:
            return None
        return next(b for b in behaviors if b.id == best_id)

    return choose
