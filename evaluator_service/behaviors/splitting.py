"""The split step of the re-clustering pass: behaviors that hold two or more failure modes are split.

Online assignment joins a failure to the nearest behavior within the similarity threshold, so a behavior
can drift: its centroid moves as members join, and a second failure mode near its edge ends up in it. Each
behavior keeps a uniform sample of its members with their vectors (see
:mod:`evaluator_service.state.behavior_samples`); this step clusters the sample of every behavior with at
least ``2 * min_group`` sampled members and splits the behavior when its members form two or more groups
whose centroids are less similar than ``threshold`` (the pass uses the lower of the embedder's joining
threshold and its merge similarity, so the merge step never joins the groups again), each with at least
``min_group`` sampled members.

Clustering is agglomerative (scikit-learn, average linkage over cosine distance) by recursive bisection: the
sample is cut in two, and the cut is kept when both halves have ``min_group`` members and centroids less
similar than ``threshold``; each half is then cut again the same way. Not HDBSCAN as the merge step over
centroids: a sample holds 10 to 64 points, where HDBSCAN labels many points as noise and, on one coherent
group, returns its two densest sub-groups unless allowed a single cluster (and then it rarely finds two).
Not a flat distance cut either: members of one failure mode are about as similar to each other as the
square of their similarity to its centroid (0.5 for the hashing embedder), so a cut at the threshold breaks
coherent modes and a cut at its square joins distinct ones. Bisection asks the question the split must
answer, on centroids as the online assignment does. On the labeled evaluation set it splits none of the 13
families and separates 72 of the 78 pairs of families with wordllama (48 with the hashing embedder; most
of the others have family centroids closer than the threshold, which online assignment could not have
told apart either).

The largest group keeps the behavior's id (the one most spans already carry); each other group becomes a
new behavior in state ``new`` with a ``behavior.created`` event, named with the distinctive-terms namer
among its scorer's behaviors.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from evaluator_service.behaviors.term_names import distinctive_names
from evaluator_service.behaviors.vectors import cosine
from evaluator_service.state.behavior_records import MERGED, StoredBehavior
from evaluator_service.state.behavior_rows import BehaviorState
from evaluator_service.state.behavior_samples import BehaviorSampleState, SplitGroup, splittable
from evaluator_service.state.sample_reservoir import SampledMember

logger = logging.getLogger(__name__)


class SplitState(BehaviorState, BehaviorSampleState, Protocol):
    """What the split step needs of the shared state."""


async def split_mixed(state: SplitState, threshold: float, min_group: int, now: float,
                      failed: Callable[[str], None] | None = None, looked_at: dict[str, int] | None = None
                      ) -> list[tuple[str, str]]:
    """Split every mixed behavior; returns the (behavior, new behavior) pairs it made. A behavior whose
    split fails is logged and reported to ``failed`` (its id); the others are still looked at.

    ``looked_at`` (kept by the caller across passes: behavior id to member count when last looked at)
    skips behaviors that gained no member since, so a pass reads only the samples that changed."""
    behaviors = await state.behaviors()
    pinned = await state.pinned_behaviors()
    made: list[tuple[str, str]] = []
    for b in behaviors:
        if not splittable(b) or b.id in pinned:
            continue
        if looked_at is not None:
            if looked_at.get(b.id) == b.member_count:
                continue
            looked_at[b.id] = b.member_count
        try:
            made.extend(await _split_one(state, b, behaviors, threshold, min_group, now))
        except Exception as exc:  # one behavior's bad sample never stops the pass
            logger.warning("re-clustering could not split behavior %s: %s", b.id, exc)
            if failed is not None:
                failed(b.id)
    if made:
        logger.info("re-clustering split %d new behaviors off mixed ones", len(made))
    return made


async def _split_one(state: SplitState, b: StoredBehavior, behaviors: Sequence[StoredBehavior],
                     threshold: float, min_group: int, now: float) -> list[tuple[str, str]]:
    sample = [s for s in await state.behavior_samples(b.id)
              if len(s.vector) == len(b.centroid) and any(s.vector)]
    if len(sample) < 2 * min_group:
        return []
    groups = await asyncio.to_thread(split_groups, [s.vector for s in sample], threshold, min_group)
    if len(groups) < 2:
        return []
    peers = [p for p in behaviors if (p.scorer, p.kind) == (b.scorer, b.kind) and p.disposition != MERGED]
    names = await asyncio.to_thread(_names, b, peers, [[sample[i] for i in g] for g in groups])
    plan = [SplitGroup(tuple(sample[i].key for i in g), names[n]) for n, g in enumerate(groups[1:], 1)]
    return [(b.id, c.id) for c in await state.split_sampled(b.id, plan, now)]


def split_groups(vectors: Sequence[Sequence[float]], threshold: float, min_group: int) -> list[list[int]]:
    """Indices of ``vectors`` by group, largest first, when they form two or more groups (see the module
    doc); ``[]`` when they belong together."""
    import numpy as np

    matrix = np.array(vectors, dtype=float)
    if len(matrix) < 2 * min_group:
        return []
    matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
    groups = _bisected(matrix, list(range(len(matrix))), threshold, min_group)
    return [] if len(groups) < 2 else sorted(groups, key=lambda g: (-len(g), g[0]))


def _bisected(matrix: Any, rows: list[int], threshold: float, min_group: int) -> list[list[int]]:
    """``rows`` cut in two by average linkage, each half cut again, while both halves have ``min_group``
    rows and centroids less similar than ``threshold``."""
    from sklearn.cluster import AgglomerativeClustering

    if len(rows) < 2 * min_group:
        return [rows]
    clustering = AgglomerativeClustering(n_clusters=2, metric="cosine", linkage="average")
    labels = clustering.fit(matrix[rows]).labels_
    halves = [[r for r, label in zip(rows, labels, strict=True) if label == side] for side in (0, 1)]
    if min(len(h) for h in halves) < min_group:
        return [rows]
    if cosine(matrix[halves[0]].mean(axis=0), matrix[halves[1]].mean(axis=0)) >= threshold:
        return [rows]
    return [g for half in halves for g in _bisected(matrix, half, threshold, min_group)]


def _names(behavior: StoredBehavior, peers: Sequence[StoredBehavior],
           groups: Sequence[Sequence[SampledMember]]) -> list[str]:
    """Distinctive-terms names of the groups among the scorer's other behaviors (the first group is the
    behavior itself, which keeps its own name)."""
    drafts = [dataclasses.replace(behavior, id=f"{behavior.id}#{n}",
                                  examples=tuple(s.as_example() for s in group))
              for n, group in enumerate(groups)]
    names = distinctive_names([p for p in peers if p.id != behavior.id] + drafts)
    return [names.get(d.id, "") for d in drafts]
