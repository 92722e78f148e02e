"""Console data in the shared state, on SQLite and PostgreSQL: replicas adding to one rollup, the read API's
series, the failing-interaction list's filters and pages, retention."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from judgeval.protocol.interaction_record import InteractionRecord

from evaluator_service.console.queries import ConsoleQueries, ConsoleQueryError, FailingFilter
from evaluator_service.console.recorder import ConsoleRecorder
from evaluator_service.console.settings import ConsoleDataConfig
from evaluator_service.state import SharedState, open_shared_state

T0 = 1_800_000_000.0  # a minute boundary (divisible by 3600)


def record(scorer: str, score: float | None, *, at: float, agent: str = "triage", service: str = "shop",
           span: int = 1, threshold: float = 0.5, **extra: Any) -> InteractionRecord:
    passed = None if score is None else score >= threshold
    extra.setdefault("example", {"input": f"question {span}"})
    return InteractionRecord(scorer=scorer, trace_id=f"{span:032x}", span_id=f"{span:016x}", at=at,
                             threshold=threshold, score=score,
                             passed=passed, reason="because" if score is not None else "no answer in 5s",
                             error_kind="timeout" if score is None else None, service=service, agent=agent,
                             environment="prod", **extra)


@asynccontextmanager
async def opened(url: str) -> AsyncIterator[SharedState]:
    state = open_shared_state(url)
    await state.open()
    try:
        yield state
    finally:
        await state.close()


async def test_two_replicas_add_to_the_same_rollups_and_the_overview_reads_them(state_url: str) -> None:
    async with opened(state_url) as one, opened(state_url) as two:
        first, second = ConsoleRecorder(ConsoleDataConfig(), one), ConsoleRecorder(ConsoleDataConfig(), two)
        first.record_interactions([record("Polite", 0.9, at=T0 + 5, span=1, latency_s=0.5, cost_usd=0.002),
                                   record("Polite", 0.2, at=T0 + 10, span=2, latency_s=1.5)])
        second.record_interactions([record("Polite", 1.0, at=T0 + 20, span=3),
                                    record("Polite", None, at=T0 + 70, span=4),
                                    record("Terse", -0.5, at=T0 + 75, span=5, agent="billing")])
        assert await first.flush() and await second.flush()
        second.record_interactions([record("Polite", 0.95, at=T0 + 30, span=6)])  # same row, added again
        assert await second.flush()
        overview = await ConsoleQueries(one, clock=lambda: T0 + 120).overview(T0, T0 + 120, step_s=60)
    assert (overview.granularity_s, overview.step_s) == (60, 60)
    assert [p.at for p in overview.points] == [T0, T0 + 60]
    polite = next(s for s in overview.by_scorer if s.name == "Polite")
    first_minute, second_minute = polite.points
    assert (first_minute.stats.scores, first_minute.stats.passes, first_minute.stats.failures) == (4, 3, 1)
    assert first_minute.stats.pass_rate == 0.75
    assert first_minute.stats.mean_score == pytest.approx((0.9 + 0.2 + 1.0 + 0.95) / 4)
    assert first_minute.stats.histogram == (0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 0)  # 0.2 | 0.9, 0.95, 1.0
    assert first_minute.stats.mean_latency_s == 1.0 and first_minute.stats.cost_usd == 0.002
    assert (second_minute.stats.scores, second_minute.stats.errors) == (0, 1)
    assert second_minute.stats.pass_rate is None
    assert polite.total.volume == 5
    assert [(s.name, s.total.volume) for s in overview.by_agent] == [("billing", 1), ("triage", 5)]
    terse = next(s for s in overview.by_scorer if s.name == "Terse")
    assert terse.total.histogram[0] == 1 and terse.total.failures == 1  # below 0: out of range, kept apart
    assert (overview.total.scores, overview.total.errors, overview.total.failures) == (5, 1, 2)


async def test_overview_filters_steps_and_reads_hour_rollups_beyond_minute_retention(state_url: str) -> None:
    config = ConsoleDataConfig(minute_retention_s=3600)
    async with opened(state_url) as state:
        recorder = ConsoleRecorder(config, state, clock=lambda: T0 + 3 * 3600)
        recorder.record_interactions([record("Polite", 0.9, at=T0 + 100, span=1),
                                      record("Polite", 0.1, at=T0 + 3700, span=2, service="billing"),
                                      record("Polite", 0.8, at=T0 + 3 * 3600 - 30, span=3)])
        assert await recorder.flush()
        await recorder.prune()  # minute rows before T0 + 2h go; hour rows stay
        queries = ConsoleQueries(state, config, clock=lambda: T0 + 3 * 3600)
        old = await queries.overview(T0, T0 + 3 * 3600, step_s=60)
        recent = await queries.overview(T0 + 2 * 3600 + 5, T0 + 3 * 3600, step_s=600)
        shop_only = await queries.overview(T0, T0 + 3 * 3600, step_s=3600, service="shop")
    assert (old.granularity_s, old.step_s, len(old.points)) == (3600, 3600, 3)  # too old for minute rows
    assert [p.stats.scores for p in old.points] == [1, 1, 1]
    assert (recent.granularity_s, recent.start, recent.step_s, len(recent.points)) == (60, T0 + 7200, 600, 6)
    assert recent.total.scores == 1 and recent.points[-1].stats.passes == 1
    assert [p.stats.scores for p in shop_only.points] == [1, 0, 1]


async def test_bad_ranges_are_refused_with_what_to_change(state_url: str) -> None:
    async with opened(state_url) as state:
        queries = ConsoleQueries(state, clock=lambda: T0)
        with pytest.raises(ConsoleQueryError, match="must end after it starts"):
            await queries.overview(T0, T0)
        with pytest.raises(ConsoleQueryError, match="at least 60 seconds"):
            await queries.overview(T0 - 600, T0, step_s=10)
        with pytest.raises(ConsoleQueryError, match="choose a larger step"):
            await queries.overview(T0 - 2 * 86400 + 60, T0, step_s=60)
        with pytest.raises(ConsoleQueryError, match="invalid cursor"):
            await queries.failing(cursor="not-a-cursor")
        with pytest.raises(ConsoleQueryError, match="'failed' or 'error'"):
            await queries.failing(FailingFilter(outcome="passed"))
        with pytest.raises(ConsoleQueryError, match="min_score must be a finite number"):
            await queries.failing(FailingFilter(min_score=float("nan")))
        assert (await queries.failing(FailingFilter(agent="bad \udc80 name"))).items == []  # no encode error


async def test_failing_interactions_filter_and_page_newest_first(state_url: str) -> None:
    async with opened(state_url) as state:
        recorder = ConsoleRecorder(ConsoleDataConfig(), state)
        recorder.record_interactions(
            [record("Polite", 0.1 * (i % 5), at=T0 + i, span=i, agent="triage" if i % 2 else "billing",
                    behavior_id="bhv-1" if i % 3 == 0 else None) for i in range(1, 13)]
            + [record("Polite", None, at=T0 + 20, span=20), record("Polite", 0.9, at=T0 + 21, span=21)])
        assert await recorder.flush()
        queries = ConsoleQueries(state)
        everything = await queries.failing(limit=500)
        pages, cursor = [], None
        while True:
            page = await queries.failing(limit=4, cursor=cursor)
            pages.append([row.record.span_id for row in page.items])
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        triage_low = await queries.failing(FailingFilter(agent="triage", min_score=0.05, max_score=0.15))
        behavior = await queries.failing(FailingFilter(behavior_id="bhv-1", since=T0 + 4, until=T0 + 12))
        errors = await queries.failing(FailingFilter(outcome="error"))
        one = await queries.failing_interaction(errors.items[0].record.id)
    assert [r.record.at for r in everything.items] == sorted((r.record.at for r in everything.items),
                                                             reverse=True)
    assert len(everything.items) == 13 and everything.next_cursor is None  # 12 failing (<0.5) + 1 error
    assert [len(p) for p in pages] == [4, 4, 4, 1]
    assert [span for page in pages for span in page] == [row.record.span_id for row in everything.items]
    assert [(r.record.agent, int(r.record.span_id, 16)) for r in triage_low.items] == [
        ("triage", 11), ("triage", 1)]
    assert [int(r.record.span_id, 16) for r in behavior.items] == [9, 6]
    assert [(r.outcome, r.record.error_kind, r.record.reason) for r in errors.items] == [
        ("error", "timeout", "no answer in 5s")]
    assert one == errors.items[0] and one.record.example == {"input": "question 20"}


async def test_retention_bounds_the_failing_list_by_age_and_count(state_url: str) -> None:
    now = T0 + 10 * 86400
    config = ConsoleDataConfig(failing_max_age_s=86400, failing_max_rows=3, not_evaluated_max_samples=2)
    async with opened(state_url) as state:
        recorder = ConsoleRecorder(config, state, clock=lambda: now)
        recorder.record_interactions([record("Polite", 0.1, at=now - 2 * 86400, span=1)]
                                     + [record("Polite", 0.2, at=now - 100 + i, span=10 + i)
                                        for i in range(5)]
                                     + [record("Polite", None, at=now - 50 + i, span=20 + i)
                                        for i in range(3)])
        assert await recorder.flush()
        await recorder.prune()
        queries = ConsoleQueries(state, config, clock=lambda: now)
        kept = await queries.failing(limit=100)
        summary = await queries.not_evaluated(now - 3600, now, step_s=3600)
    assert [int(r.record.span_id, 16) for r in kept.items] == [22, 21, 20]
    assert summary.total == 3  # counts are rollups, kept as long as they are
    assert [int(s.span_id, 16) for s in summary.samples] == [22, 21]


async def test_a_span_scored_again_replaces_its_row_in_one_flush_or_the_next(state_url: str) -> None:
    async with opened(state_url) as state:
        recorder = ConsoleRecorder(ConsoleDataConfig(), state)
        recorder.record_interactions([record("Polite", 0.1, at=T0, span=7),
                                      record("Polite", None, at=T0, span=8)])
        recorder.record_interactions([record("Polite", 0.2, at=T0 + 1, span=7),
                                      record("Polite", None, at=T0 + 1, span=8)])  # redelivered after a crash
        assert await recorder.flush()
        recorder.record_interactions([record("Polite", 0.3, at=T0 + 2, span=7)])
        assert await recorder.flush()
        queries = ConsoleQueries(state, clock=lambda: T0 + 60)
        page = await queries.failing()
        summary = await queries.not_evaluated(T0, T0 + 60)
    assert [(int(r.record.span_id, 16), r.record.score) for r in page.items] == [(7, 0.3), (8, None)]
    assert [(s.at, s.span_id) for s in summary.samples] == [(T0 + 1, f"{8:016x}")]


async def test_hostile_spans_are_bounded_in_size_and_in_distinct_keys(state_url: str) -> None:
    config = ConsoleDataConfig(max_field_chars=100, max_rollup_keys=100)
    async with opened(state_url) as state:
        recorder = ConsoleRecorder(config, state)
        recorder.record_interactions([record("Polite", 0.1, at=T0, span=1, agent="a" * 5000,
                                             example={"input": "x" * 1000, "nested": [{"y": "z" * 300}]})])
        recorder.record_interactions([record("Polite", 0.9, at=T0 + 1, span=100 + i, agent=f"agent-{i}")
                                      for i in range(200)])  # 2 keys (minute, hour) per new agent
        assert await recorder.flush()
        queries = ConsoleQueries(state, config, clock=lambda: T0 + 60)
        [row] = (await queries.failing()).items
        overview = await queries.overview(T0, T0 + 60)
    assert row.record.agent == "a" * 200
    assert row.record.example["input"] == "x" * 100 + "... [900 more characters]"
    assert row.record.example["nested"] == [{"y": "z" * 100 + "... [200 more characters]"}]
    assert overview.total.scores == 201  # nothing lost ...
    others = [s for s in overview.by_agent if s.name == "(other)"]
    assert others and others[0].total.scores == 201 - (len(overview.by_agent) - 1)  # ... only its detail
    assert recorder.folded > 0


async def test_the_background_task_flushes_and_applies_the_retention(state_url: str) -> None:
    config = ConsoleDataConfig(flush_interval_s=0.01, prune_interval_s=0.01, failing_max_rows=2)
    async with opened(state_url) as state:
        recorder = ConsoleRecorder(config, state)
        await recorder.start()
        try:
            recorder.record_interactions([record("Polite", 0.1, at=T0 + i, span=i) for i in range(5)])
            queries = ConsoleQueries(state)
            deadline = asyncio.get_running_loop().time() + 20
            while [int(r.record.span_id, 16) for r in (await queries.failing()).items] != [4, 3]:
                assert asyncio.get_running_loop().time() < deadline, "not flushed and pruned within 20 s"
                await asyncio.sleep(0.02)
        finally:
            await recorder.stop()


async def test_concurrent_flushes_of_replicas_add_up_exactly(state_url: str) -> None:
    async with opened(state_url) as one, opened(state_url) as two:
        recorders = [ConsoleRecorder(ConsoleDataConfig(), one), ConsoleRecorder(ConsoleDataConfig(), two)]
        for round_ in range(10):
            for index, recorder in enumerate(recorders):  # overlapping keys, in different arrival orders
                batch = [record(f"s{(i + index) % 4}", 0.1 * (i % 10), at=T0 + i, agent=f"a{i % 3}",
                                span=1000 * round_ + 100 * index + i) for i in range(40)]
                recorder.record_interactions(batch if index else batch[::-1])
            assert all(await asyncio.gather(*(r.flush() for r in recorders)))
        overview = await ConsoleQueries(one, clock=lambda: T0 + 60).overview(T0, T0 + 60)
    assert overview.total.scores == 10 * 2 * 40
    assert overview.total.failures == 10 * 2 * 40 // 2  # scores 0.0-0.4 of 0.0-0.9 miss 0.5
    assert [(s.name, s.total.scores) for s in overview.by_scorer] == [(f"s{i}", 200) for i in range(4)]
