"""The alert tables behave alike on SQLite and PostgreSQL: counts merge (sums, min, max), history orders
newest first, silences expire, the outbox leases and finishes, the cursor advances, old rows are pruned."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from evaluator_service.state import SharedState, SqliteSharedState, open_shared_state
from evaluator_service.state.alert_outbox import DeliveryRecord
from evaluator_service.state.alert_rows import (
    OUTBOX_DELIVERED,
    AlertStatus,
    AlertWrites,
    CountRow,
    HistoryEntry,
    OutboxEntry,
    WindowCounts,
    history_id,
    notification_id,
)
from evaluator_service.state.alert_silences import CursorRequest, Silence
from tests.support.postgres_cluster import PostgresCluster

NOW = 1_800_000_000.0


@pytest.fixture(params=["sqlite", "postgresql"])
async def state(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SharedState]:
    if request.param == "sqlite":
        backend: SharedState = SqliteSharedState(tmp_path / "state.sqlite3")
    else:
        cluster: PostgresCluster = request.getfixturevalue("postgres")
        backend = open_shared_state(cluster.url(cluster.new_database()))
    await backend.open()
    yield backend
    await backend.close()


async def test_counts_history_and_outbox(state: SharedState) -> None:
    await state.add_alert_counts([CountRow("a", 100, 2, 1, 0, 0.4, 0.9),
                                  CountRow("a", 110, 1, 0, 1, 0.2, 0.2)])
    await state.add_alert_counts([CountRow("a", 100, 1, 1, 0, None, None),  # no value keeps min and max
                                  CountRow("b", 100, 5, 5, 5, 0, 0)])
    seen: list[list[WindowCounts]] = []
    first, second = notification_id(), notification_id()

    def judge(status: AlertStatus, counts: Sequence[WindowCounts]) -> AlertWrites:
        seen.append(list(counts))
        entries = [HistoryEntry(history_id(), "a", NOW, "ok", to, "critical", 0.5, event, None, {"n": 1})
                   for to, event in (("pending", None), ("firing", first), ("resolved", second))]
        outbox = [OutboxEntry(event, "hook", "a", NOW, "{}") for event in (first, second)]
        return AlertWrites(None, entries, outbox)

    await state.judge_alert("a", NOW, [100, 110], 0, judge)
    assert seen == [[WindowCounts(4, 2, 1, 0.2, 0.9), WindowCounts(1, 0, 1, 0.2, 0.2)]]
    assert [h.to_state for h in await state.alert_history("a", 10)] == ["resolved", "firing", "pending"]
    assert [h.detail for h in await state.alert_history(None, 1)] == [{"n": 1}]
    leased = await state.lease_due_notifications("me", NOW, 60, 10)
    assert [e.event_id for e in leased] == [first]  # the second waits for the first (per-channel order)
    assert await state.lease_due_notifications("other", NOW, 60, 10) == []
    await state.record_delivery(DeliveryRecord("d1", first, "hook", "a", NOW, True, "HTTP 200", 200, "me"))
    assert await state.finish_notification(leased[0], "me", OUTBOX_DELIVERED, 1, NOW, "delivered")
    assert [e.event_id for e in await state.lease_due_notifications("me", NOW, 60, 10)] == [second]
    assert [(d.ok, d.status_code) for d in await state.deliveries_of(first)] == [(True, 200)]
    assert await state.outbox_counts() == {"delivered": 1, "pending": 1}
    await state.prune_alert_records(NOW + 1)
    assert await state.alert_history("a", 10) == [] and await state.deliveries_of(first) == []
    assert await state.outbox_counts() == {"pending": 1}  # an undelivered notification is never pruned


async def test_silences_and_the_cursor(state: SharedState) -> None:
    await state.add_silence(Silence("s1", {"alert": "a"}, NOW, NOW + 60, "deploy", "me", NOW))
    await state.add_silence(Silence("s2", {"severity": "warning"}, NOW + 100, NOW + 200))
    assert [s.id for s in await state.silences(NOW)] == ["s1", "s2"]
    assert await state.expire_silence("s1", NOW + 1)
    assert [s.id for s in await state.silences(NOW + 1)] == ["s2"]
    calls: list[tuple[int, list[str]]] = []

    def decide(position: int, statuses: dict[str, AlertStatus]) -> tuple[int, list[AlertWrites]]:
        calls.append((position, sorted(statuses)))
        return position + 5, []

    request = CursorRequest("behavior-events", ["x", "y"], NOW, decide)
    assert await state.advance_alert_cursor(request) == 5
    assert await state.advance_alert_cursor(request) == 10
    assert calls == [(0, ["x", "y"]), (5, ["x", "y"])]
