"""Session parts and leases in the shared state, on SQLite and PostgreSQL: two replicas never both hold a
session's lease, an announcement never hides a published part, and a score is recorded only by the holder."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from evaluator_service.state import SharedState, open_shared_state
from evaluator_service.state.session_rows import SessionPart


@pytest.fixture
async def replicas(state_url: str) -> AsyncIterator[tuple[SharedState, SharedState]]:
    first, second = open_shared_state(state_url), open_shared_state(state_url)
    await first.open()
    await second.open()
    yield first, second
    await first.close()
    await second.close()


async def test_one_replica_holds_a_session_until_its_lease_expires_or_it_scored(
    replicas: tuple[SharedState, SharedState],
) -> None:
    a, b = replicas
    lease = await a.take_session_lease("s", "a:1", now=100.0, seconds=60.0)
    assert (lease.holder, lease.revision, lease.scored_through) == ("a:1", -1, 0.0)
    assert (await b.take_session_lease("s", "b:1", now=130.0, seconds=60.0)).holder == "a:1"
    await b.session_scored("s", "b:1", 0, 120.0)  # not the holder: ignored
    assert (await b.take_session_lease("s", "b:1", now=131.0, seconds=60.0)).revision == -1
    await a.session_scored("s", "a:1", 0, 120.0)  # scored: recorded, lease released
    lease = await b.take_session_lease("s", "b:1", now=132.0, seconds=60.0)
    assert (lease.holder, lease.revision, lease.scored_through) == ("b:1", 0, 120.0)
    assert (await a.take_session_lease("s", "a:1", now=150.0, seconds=60.0)).holder == "b:1"
    assert (await a.take_session_lease("s", "a:1", now=193.0, seconds=60.0)).holder == "a:1"  # expired at 192


async def test_parts_are_announced_then_published_and_forgotten(
    replicas: tuple[SharedState, SharedState],
) -> None:
    a, b = replicas
    await a.announce_session_part("s", SessionPart("t1", "a:1", 10.0, 10.0, ""))
    await b.publish_session_part("s", SessionPart("t2", "b:1", 5.0, 20.0, '{"spans": []}'))
    await a.publish_session_part("s", SessionPart("t1", "a:1", 10.0, 15.0, '{"spans": [1]}'))
    await b.announce_session_part("s", SessionPart("t1", "b:1", 99.0, 99.0, ""))  # never hides the part
    parts = await b.session_parts("s")
    assert [(p.trace_id, p.replica, p.last_seen, p.part) for p in parts] == [
        ("t2", "b:1", 20.0, '{"spans": []}'),
        ("t1", "a:1", 15.0, '{"spans": [1]}'),
    ]
    await b.forget_session("s")
    assert await a.session_parts("s") == []
    assert (await a.take_session_lease("s", "a:1", now=1.0, seconds=1.0)).revision == -1
