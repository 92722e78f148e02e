"""The re-clustering pass (HDBSCAN over centroids) and grouping quality on the labeled evaluation set.

Quality runs the benchmark's own code (benchmarks/behaviors_quality.py: the real ``record_failure`` path on
SQLite) on a smaller stream (15 failures per family, 208 in all) and asserts floors well below what it
measures (README, benchmarks/README.md): a floor catches a broken embedder or pass, not a small drift.
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from evaluator_service.behaviors.reclustering import cluster_labels, recluster
from evaluator_service.state import SqliteSharedState

from .lifecycle_support import T0, failure, near

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def benchmark_module() -> ModuleType:
    sys.path.insert(0, str(BENCHMARKS))  # behaviors_quality imports its sibling behavior_families
    try:
        path = BENCHMARKS / "behaviors_quality.py"
        spec = importlib.util.spec_from_file_location("behaviors_quality", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["behaviors_quality"] = module  # its dataclasses look their module up
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCHMARKS))


def test_the_evaluation_set_is_deterministic_and_the_late_family_starts_halfway() -> None:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        from behavior_families import LATE_FAMILY, failure_stream
    finally:
        sys.path.remove(str(BENCHMARKS))
    stream = failure_stream(per_family=15)
    assert stream == failure_stream(per_family=15) and len(stream) == 13 * 15
    first_late = next(i for i, f in enumerate(stream) if f.family == LATE_FAMILY)
    assert first_late >= (12 * 15) // 2
    assert len({f.reason for f in stream}) > 100  # varied wording, not one sentence per family


@pytest.mark.parametrize("embedder", ["wordllama", "hashing"])
async def test_grouping_quality_floors(embedder: str) -> None:
    quality = benchmark_module()
    online = await quality.run_online(embedder, None, per_family=15, seed=7)
    reclustered = await quality.run_online(embedder, None, per_family=15, seed=7, reclustered=True)
    # Measured (15 per family): wordllama online purity 1.00 NMI 0.81 major 0.52, re-clustered purity 1.00
    # NMI 0.88 ARI 0.78 major 0.75 ids kept 0.94; hashing online purity 1.00 NMI 0.83 major 0.50,
    # re-clustered purity 0.91 NMI 0.87 ARI 0.71 major 0.76 ids kept 0.88.
    assert online.purity >= 0.9 and online.nmi >= 0.65 and online.majority_share >= 0.35
    assert online.late_spans_until_new is not None and online.late_spans_until_new <= 3
    assert reclustered.purity >= 0.75 and reclustered.nmi >= 0.75 and reclustered.ari >= 0.5
    assert reclustered.majority_share >= 0.55 and reclustered.id_stability >= 0.7
    assert reclustered.majority_share > online.majority_share and reclustered.behaviors < online.behaviors


def test_cluster_labels_leave_out_other_dimensions_and_lonely_points() -> None:
    a, b, c = [1.0, 0.0, 0.0], [0.99, 0.05, 0.0], [0.0, 0.0, 1.0]
    labels = cluster_labels([a, b, [0.98, 0.0, 0.1], c, [0.05, 0.0, 1.0], [1.0, 0.0]], min_cluster_size=2)
    assert labels[0] == labels[1] == labels[2] != -1 and labels[3] == labels[4] != labels[0]
    assert labels[5] == -1  # another dimension (another model under the same space name)
    assert cluster_labels([a, b], min_cluster_size=2) == [-1, -1]  # too few to cluster


@pytest.fixture
async def state(tmp_path: Path):  # type: ignore[no-untyped-def]
    shared = SqliteSharedState(tmp_path / "state.sqlite3")
    await shared.open()
    yield shared
    await shared.close()


async def fragmented(state: SqliteSharedState) -> list[str]:
    """Three near-duplicate behaviors of each of two failure modes (the chooser declined to join), as
    online assignment leaves them when a mode is written in several ways."""
    ids = []
    for n, text in enumerate(["Sorry, your order is delayed and we cannot refund it",
                              "Sorry, your order is delayed and we can not refund it",
                              "Sorry your order is delayed, we cannot refund it",
                              "Personal data found: email address of another customer",
                              "Personal data found: e-mail address of another customer",
                              "Personal data found: email adress of another customer"]):
        behavior, *_ = await state.record_failure(failure(text, T0 + n, n=n), lambda _d, _r: None)
        ids.append(behavior.id)
    await state.record_failure(failure("Sorry, your order is delayed and we cannot refund it", T0 + 9, n=9),
                               near, candidate_id=ids[0])
    return ids


async def test_recluster_merges_near_duplicates_into_the_largest_and_keeps_ids(state) -> None:  # type: ignore[no-untyped-def]
    ids = await fragmented(state)
    merged = await recluster(state, min_cluster_size=2, min_similarity=0.5)
    assert sorted(merged) == sorted([(ids[1], ids[0]), (ids[2], ids[0]), (ids[4], ids[3]), (ids[5], ids[3])])
    survivor = await state.behavior(ids[0])
    assert survivor is not None and survivor.member_count == 4
    assert await recluster(state, min_cluster_size=2, min_similarity=0.5) == []  # the next pass keeps ids
    # Later failures like a merged-away behavior join the survivor.
    joined, new, _ = await state.record_failure(failure("Sorry your order is delayed, we cannot refund it",
                                                     T0 + 20, n=20), near, candidate_id=ids[2])
    assert (joined.id, new) == (ids[0], False)


async def test_recluster_respects_operators_and_its_similarity_floor(state) -> None:  # type: ignore[no-untyped-def]
    ids = await fragmented(state)
    assert await recluster(state, min_cluster_size=2, min_similarity=0.9999) == []  # below the floor
    await state.rename_behavior(ids[1], "Refund refusals (checked)", "operator")
    await state.set_behavior_disposition(ids[5], "expected")
    merged = await recluster(state, min_cluster_size=2, min_similarity=0.5)
    assert sorted(merged) == sorted([(ids[2], ids[0]), (ids[4], ids[3])])  # operators' ones left alone
    kept = [await state.behavior(bid) for bid in (ids[1], ids[5])]
    assert [(b.disposition, b.merged_into) for b in kept if b] == [("open", None), ("expected", None)]


async def test_two_replicas_reclustering_at_once_merge_each_behavior_once(tmp_path: Path) -> None:
    url = tmp_path / "shared.sqlite3"
    a, b = SqliteSharedState(url), SqliteSharedState(url)
    await a.open()
    await b.open()
    ids = await fragmented(a)
    first, second = await asyncio.gather(recluster(a, 2, 0.5), recluster(b, 2, 0.5))
    assert sorted(first + second) == sorted([(ids[1], ids[0]), (ids[2], ids[0]), (ids[4], ids[3]),
                                             (ids[5], ids[3])])
    assert (await b.behavior(ids[0])).member_count == 4  # type: ignore[union-attr]
    await a.close()
    await b.close()


def test_distinctive_names_prefer_words_that_set_a_behavior_apart() -> None:
    from evaluator_service.behaviors.term_names import distinctive_names
    from evaluator_service.state.behavior_records import BehaviorExample, StoredBehavior

    def behavior(bid: str, *reasons: str) -> StoredBehavior:
        examples = tuple(BehaviorExample("0" * 32, f"{n:016x}", r, reason=r) for n, r in enumerate(reasons))
        return StoredBehavior(bid, "judge", "space", "x", "provisional", [1.0], len(reasons), 0.0, 0.0,
                              examples=examples)

    names = distinctive_names([
        behavior("refund", "The customer asked for a refund and the agent refused the refund",
                 "Customer was denied a refund for the late order"),
        behavior("leak", "The customer received another customer's email address",
                 "Customer data leaked: email address of a customer"),
    ])
    assert "refund" in names["refund"].split() and "email" in names["leak"].split()
    assert "customer" not in names["refund"].split()  # every behavior says it: it names none


async def test_the_pass_renames_provisional_names_only(state) -> None:  # type: ignore[no-untyped-def]
    ids = await fragmented(state)
    await state.rename_behavior(ids[3], "Leaks (checked)", "operator")
    await state.rename_behavior(ids[4], "Model's name", "auto")
    await recluster(state, min_cluster_size=2, min_similarity=0.9999)  # no merges; names only
    after = {b.id: (b.name, b.name_source) for b in await state.behaviors()}
    assert after[ids[3]] == ("Leaks (checked)", "operator") and after[ids[4]] == ("Model's name", "auto")
    # renamed from the refund texts' own words (a phrase of them), still provisional
    assert after[ids[0]][1] == "provisional" and after[ids[0]][0] in ("order is delayed", "cannot refund")
