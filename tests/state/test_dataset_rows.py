"""Datasets in the shared state, on SQLite and PostgreSQL: versions grow with each change, ``NAME@V`` reads
what the dataset held at ``V``, adding is idempotent per record id, retention removes as a new version, and
two replicas never hand out the same version."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from judgeval.protocol.interaction_record import InteractionRecord

from evaluator_service.state import SharedState, open_shared_state
from evaluator_service.state.dataset_rows import DatasetSettings, ExampleFilter, UnknownDataset
from evaluator_service.state.dataset_values import ExampleCursor


def record(span: int, *, at: float = 100.0, passed: bool | None = False, scorer: str = "Tone",
           behavior: str | None = None) -> InteractionRecord:
    return InteractionRecord(
        scorer=scorer, trace_id=f"{span:032x}", span_id=f"{span:016x}", at=at,
        example={"input": f"question {span}", "actual_output": "answer"}, threshold=0.5,
        score=None if passed is None else float(passed), passed=passed,
        reason="rude" if passed is False else "", error_kind="timeout" if passed is None else None,
        service="shop", agent="helper", behavior_id=behavior)


@pytest.fixture
async def replicas(state_url: str) -> AsyncIterator[tuple[SharedState, SharedState]]:
    first, second = open_shared_state(state_url), open_shared_state(state_url)
    await first.open()
    await second.open()
    yield first, second
    await first.close()
    await second.close()


async def test_each_change_is_a_version_and_old_versions_stay_readable(
    replicas: tuple[SharedState, SharedState],
) -> None:
    a, b = replicas
    created = await a.ensure_dataset("tone-failures", DatasetSettings(description="rude answers"), now=1.0)
    assert (created.version, created.example_count, created.description) == (0, 0, "rude answers")
    first = await a.add_dataset_examples("tone-failures", [record(1), record(2)], now=2.0)
    assert (first.version, first.added, first.unchanged) == (1, 2, 0)
    again = await b.add_dataset_examples("tone-failures", [record(2), record(3)], now=3.0)
    assert (again.version, again.added, again.unchanged) == (2, 1, 1)  # span 2 is not a second example
    same = await b.add_dataset_examples("tone-failures", [record(3)], now=4.0)
    assert (same.version, same.added, same.unchanged) == (2, 0, 1)  # nothing new: no new version
    removed = await a.remove_dataset_examples("tone-failures", [record(1).id, "no:such:id"], now=5.0)
    assert (removed.version, removed.removed) == (3, 1)

    async def ids(version: int | None) -> list[str]:
        page = await b.dataset_examples("tone-failures", version)
        return [e.record.span_id[-1] for e in page.examples]

    assert await ids(1) == ["1", "2"]
    assert await ids(2) == ["1", "2", "3"]
    assert await ids(3) == ["2", "3"]
    assert await ids(None) == ["2", "3"]
    assert (await b.dataset("tone-failures", 2)).example_count == 3
    current = (await b.datasets())[0]
    assert (current.name, current.version, current.latest_version, current.example_count) == (
        "tone-failures", 3, 3, 2)
    history = await a.dataset_versions("tone-failures")
    assert [(v.version, v.added, v.removed) for v in history] == [(1, 2, 0), (2, 1, 0), (3, 0, 1)]
    # an example removed and added again is back from the next version on, and still absent at version 3
    back = await a.add_dataset_examples("tone-failures", [record(1)], now=6.0)
    assert back.version == 4
    assert await ids(3) == ["2", "3"]
    assert await ids(4) == ["1", "2", "3"]


async def test_records_come_back_whole_and_pages_filter_by_outcome_scorer_and_behavior(
    replicas: tuple[SharedState, SharedState],
) -> None:
    a, _ = replicas
    records = [record(1, at=10.0, behavior="beh_1"), record(2, at=20.0, passed=True),
               record(3, at=30.0, passed=None), record(4, at=40.0, scorer="Other")]
    await a.add_dataset_examples("mixed", records, now=1.0)
    page = await a.dataset_examples("mixed", limit=3)
    assert [e.record for e in page.examples] == records[:3]
    assert page.next_after == ExampleCursor(30.0, records[2].id)
    rest = await a.dataset_examples("mixed", page.version, after=page.next_after)
    assert [e.record for e in rest.examples] == records[3:] and rest.next_after is None
    assert await a.count_dataset_examples("mixed", where=ExampleFilter(outcome="failed")) == 2

    async def spans(where: ExampleFilter) -> list[str]:
        return [e.record.span_id[-1] for e in (await a.dataset_examples("mixed", where=where)).examples]

    assert await spans(ExampleFilter(outcome="failed")) == ["1", "4"]
    assert await spans(ExampleFilter(outcome="passed")) == ["2"]
    assert await spans(ExampleFilter(outcome="error")) == ["3"]
    assert await spans(ExampleFilter(scorer="Tone", outcome="failed")) == ["1"]
    assert await spans(ExampleFilter(behavior_id="beh_1")) == ["1"]


async def test_retention_removes_the_oldest_and_the_too_old_as_one_new_version(
    replicas: tuple[SharedState, SharedState],
) -> None:
    a, _ = replicas
    await a.ensure_dataset("bounded", DatasetSettings(max_examples=3, max_age_s=100.0), now=0.0)
    await a.add_dataset_examples("bounded", [record(i, at=float(i * 10)) for i in range(1, 7)], now=60.0)
    trimmed = await a.apply_dataset_retention("bounded", now=60.0)
    assert (trimmed.version, trimmed.removed) == (2, 3)  # beyond the newest three: spans 1, 2, 3
    kept = await a.dataset_examples("bounded")
    assert [e.record.span_id[-1] for e in kept.examples] == ["4", "5", "6"]
    aged = await a.apply_dataset_retention("bounded", now=155.0)  # older than 55: span 4 and 5
    assert (aged.version, aged.removed) == (3, 2)
    assert [e.record.span_id[-1] for e in (await a.dataset_examples("bounded")).examples] == ["6"]
    assert (await a.apply_dataset_retention("bounded", now=155.0)).version == 3  # nothing to do: same
    assert [v.note for v in await a.dataset_versions("bounded")] == ["added", "retention", "retention"]
    assert (await a.dataset("bounded", 1)).example_count == 6


async def test_unknown_datasets_and_versions_are_named_and_deleting_drops_everything(
    replicas: tuple[SharedState, SharedState],
) -> None:
    a, b = replicas
    with pytest.raises(UnknownDataset, match="no dataset named 'ghost'"):
        await a.dataset("ghost")
    with pytest.raises(UnknownDataset, match="no dataset named 'ghost'"):
        await a.remove_dataset_examples("ghost", ["x"], now=1.0)
    await a.add_dataset_examples("kept", [record(1)], now=1.0)
    with pytest.raises(UnknownDataset, match=r"has no version 2 \(its latest is 1\)"):
        await a.dataset_examples("kept", 2)
    assert await b.delete_dataset("kept") is True
    assert await b.delete_dataset("kept") is False
    assert await a.datasets() == []
    recreated = await a.add_dataset_examples("kept", [record(1)], now=2.0)
    assert (recreated.version, recreated.added) == (1, 1)


async def test_concurrent_writers_on_two_replicas_never_share_a_version(
    replicas: tuple[SharedState, SharedState],
) -> None:
    a, b = replicas
    await a.ensure_dataset("busy", DatasetSettings(), now=0.0)
    changes = await asyncio.gather(*(
        (a if i % 2 else b).add_dataset_examples("busy", [record(i)], now=float(i)) for i in range(1, 11)))
    assert sorted(c.version for c in changes) == list(range(1, 11))
    assert (await a.dataset("busy")).example_count == 10


async def test_keyset_pages_read_one_version_whole_while_another_replica_adds(
    replicas: tuple[SharedState, SharedState],
) -> None:
    """Ties in record time are ordered by id; examples added between pages (before, among and after the
    cursor) neither repeat nor push one out of the version being read."""
    a, b = replicas
    first = [record(i, at=float(100 + i // 3)) for i in range(1, 12)]
    await a.add_dataset_examples("growing", first, now=1.0)
    read: list[InteractionRecord] = []
    version, after, added = None, None, 100
    while True:
        page = await a.dataset_examples("growing", version, after=after, limit=2)
        version, after = page.version, page.next_after
        read.extend(e.record for e in page.examples)
        added += 1
        fresh = [record(added * 10 + k, at=at) for k, at in enumerate((50.0, 102.0, 900.0))]
        await b.add_dataset_examples("growing", fresh, now=float(added))
        if after is None:
            break
    assert sorted(r.id for r in read) == sorted(r.id for r in first)
    assert read == sorted(first, key=lambda r: (r.at, r.id))
    everything = [e.record for e in (await a.dataset_examples("growing", limit=1000)).examples]
    assert len(everything) == len(first) + 3 * (added - 100)
