"""The periodic re-clustering pass: merges behaviors that online assignment split into near-duplicates.

(The pass first splits mixed behaviors: :mod:`evaluator_service.behaviors.splitting`; this is its merge step.)

Online assignment places each failure on arrival, against the centroids that exist then, so one failure
mode written in several ways can found several behaviors. Every ``recluster_interval_s`` this pass runs
HDBSCAN (scikit-learn) over the centroids of each scorer's behaviors (one kind, one vector space at a time)
and merges every cluster it finds into its largest behavior (the oldest on a tie), through the same
``merge_behaviors`` an operator uses: members, trend buckets and evidence move, later failures that would
have joined a merged behavior join the one it was merged into, and the merged id stays resolvable. So ids
are stable: the behavior that survives a pass is the one most spans already carry, and the next pass keeps
it (it is still the largest of its cluster).

After merging, behaviors still named provisionally get distinctive-terms names
(:mod:`~evaluator_service.behaviors.term_names`, c-TF-IDF among their scorer's behaviors).

Operators' decisions win: dismissed, expected or merged behaviors and behaviors an operator named are left
out. Two replicas running the pass at once compute the same clusters; the second one's merges find the
sources already merged and skip them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Protocol

from evaluator_service.behaviors.term_names import distinctive_names
from evaluator_service.behaviors.vectors import cosine
from evaluator_service.state.behavior_issue_rows import BehaviorActionRefused, BehaviorIssueState
from evaluator_service.state.behavior_records import (
    MERGED,
    NAME_OPERATOR,
    NAME_PROVISIONAL,
    OPEN,
    StoredBehavior,
)
from evaluator_service.state.behavior_rows import BehaviorState
from evaluator_service.state.sample_reservoir import DEFAULT_SAMPLE_CAPACITY

logger = logging.getLogger(__name__)


class ReclusterState(BehaviorState, BehaviorIssueState, Protocol):
    """What the pass needs of the shared state."""


async def recluster(state: ReclusterState, min_cluster_size: int = 2, min_similarity: float = 0.0,
                    sample_capacity: int = DEFAULT_SAMPLE_CAPACITY) -> list[tuple[str, str]]:
    """One pass over every behavior; returns the (merged, into) pairs it made. A behavior is merged only
    if its centroid is at least ``min_similarity`` (cosine) from the one it would join; the merged member
    samples keep at most ``sample_capacity`` members."""
    groups: dict[tuple[str, str, str], list[StoredBehavior]] = {}
    for b in await state.behaviors():
        if b.disposition == OPEN and b.name_source != NAME_OPERATOR:
            groups.setdefault((b.scorer, b.space, b.kind), []).append(b)
    merged: list[tuple[str, str]] = []
    for members in groups.values():
        if len(members) <= min_cluster_size:
            continue
        labels = await asyncio.to_thread(cluster_labels, [b.centroid for b in members], min_cluster_size)
        for label in sorted(set(labels) - {-1}):
            together = [b for b, lab in zip(members, labels, strict=True) if lab == label]
            target = max(together, key=lambda b: (b.member_count, -b.first_seen))
            for source in together:
                if source.id == target.id or cosine(source.centroid, target.centroid) < min_similarity:
                    continue
                try:
                    await state.merge_behaviors(source.id, target.id, by_operator=False,
                                                sample_capacity=sample_capacity)
                except BehaviorActionRefused as exc:  # another replica (or an operator) got there first
                    logger.debug("re-clustering skipped merging %s: %s", source.id, exc)
                    continue
                merged.append((source.id, target.id))
    if merged:
        logger.info("re-clustering merged %d behaviors into near-duplicates", len(merged))
    await rename_provisional(state)
    return merged


async def rename_provisional(state: ReclusterState) -> int:
    """Give every behavior still named provisionally its distinctive-terms name (c-TF-IDF among its
    scorer's open behaviors); returns how many names changed."""
    groups: dict[tuple[str, str], list[StoredBehavior]] = {}
    for b in await state.behaviors():
        if b.disposition != MERGED:
            groups.setdefault((b.scorer, b.kind), []).append(b)
    renamed = 0
    for members in groups.values():
        names = await asyncio.to_thread(distinctive_names, members)
        for b in members:
            name = names.get(b.id, "")
            if b.name_source == NAME_PROVISIONAL and name and name != b.name:
                await state.rename_behavior(b.id, name, NAME_PROVISIONAL)
                renamed += 1
    return renamed


def cluster_labels(centroids: Sequence[Sequence[float]], min_cluster_size: int) -> list[int]:
    """HDBSCAN labels of the unit-normalized centroids (-1: in no cluster), Euclidean distance on unit
    vectors ranking pairs as cosine similarity does. Centroids of another dimension are left out (-1)."""
    import numpy as np
    from sklearn.cluster import HDBSCAN

    dims = max((len(c) for c in centroids), default=0)
    usable = [i for i, c in enumerate(centroids) if len(c) == dims and any(c)]
    labels = [-1] * len(centroids)
    if len(usable) <= min_cluster_size:
        return labels
    matrix = np.array([centroids[i] for i in usable], dtype=float)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    # No single cluster: HDBSCAN would then put every behavior of the scorer in it. The price: a scorer
    # whose behaviors form one group plus outliers only is left as it is.
    found = HDBSCAN(min_cluster_size=min_cluster_size, min_samples=1, copy=True).fit(matrix).labels_
    for i, label in zip(usable, found, strict=True):
        labels[i] = int(label)
    return labels
