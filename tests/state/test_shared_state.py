"""The shared-state contract on both backends: what one replica writes, another replica sees.

Each "replica" is its own state object (its own connection) on the same database URL, the way two
evaluator processes would be.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator

import pytest

from evaluator_service.scoring.pause import PauseRegistry
from evaluator_service.state import ScorerFiles, SharedState, StoredScorer, open_shared_state


@pytest.fixture
async def replicas(state_url: str) -> AsyncIterator[tuple[SharedState, SharedState]]:
    first, second = open_shared_state(state_url), open_shared_state(state_url)
    await asyncio.gather(first.open(), second.open())  # concurrent schema creation must not fail
    yield first, second
    await first.close()
    await second.close()


async def test_pause_on_one_replica_is_seen_and_resumed_by_another(
    replicas: tuple[SharedState, SharedState], state_url: str
) -> None:
    a, b = PauseRegistry(replicas[0]), PauseRegistry(replicas[1])
    await a.load()
    await b.load()
    try:
        await a.pause("faithfulness", "judge answered 401")
        await b.refresh()
        assert b.reason("faithfulness") == "judge answered 401"
        assert [p.name for p in b.list_paused()] == ["faithfulness"]
        assert await b.resume("faithfulness") is True
        await a.refresh()
        assert a.reason("faithfulness") is None and a.list_paused() == []
        assert await a.resume("faithfulness") is False
        await b.pause("toxicity", "quota exhausted")
    finally:
        await a.close()
        await b.close()
    restarted = open_shared_state(state_url)  # a pause outlives every replica that saw it
    await restarted.open()
    assert [(p.name, p.reason) for p in await restarted.paused_scorers()] == [("toxicity", "quota exhausted")]
    await restarted.close()


async def test_change_counter_moves_on_every_write_by_any_replica(
    replicas: tuple[SharedState, SharedState]
) -> None:
    a, b = replicas
    start = await b.change_counter()
    await a.pause("x", "why")
    after_pause = await b.change_counter()
    await a.resume("x")
    assert start < after_pause < await b.change_counter()
    unchanged = await b.change_counter()
    assert await a.resume("never paused") is False
    assert await b.change_counter() == unchanged


def _draft(name: str, sha: str = "0" * 64) -> StoredScorer:
    return StoredScorer(name=name, version=0, sha256=sha, created_at=time.time(), class_name="Scorer",
                        source_filename="scorer.py", requirements_hash="h")


def _next(rows: list[StoredScorer]) -> int:
    return max((r.version for r in rows), default=0) + 1


async def test_concurrent_uploads_of_one_name_get_distinct_versions(
    replicas: tuple[SharedState, SharedState]
) -> None:
    a, b = replicas
    files = ScorerFiles("class Scorer: ...\n", "")
    stored = await asyncio.gather(*[
        (a if i % 2 else b).store_version(_draft("racy", f"{i:064d}"), files, _next) for i in range(8)
    ])
    assert sorted(s.version for s in stored) == list(range(1, 9))
    assert [s.version for s in await a.scorer_versions()] == list(range(1, 9))
    assert {s.sha256 for s in await b.scorer_versions()} == {s.sha256 for s in stored}


async def test_refusing_chooser_stores_nothing_and_overwrite_replaces_in_place(
    replicas: tuple[SharedState, SharedState]
) -> None:
    a, b = replicas
    first = await a.store_version(_draft("one"), ScorerFiles("v1", "openai\n"), _next)

    def refuse(rows: list[StoredScorer]) -> int:
        raise LookupError(f"taken by {rows[0].name}")

    with pytest.raises(LookupError, match="taken by one"):
        await b.store_version(_draft("one"), ScorerFiles("other", ""), refuse)
    replaced = await b.store_version(_draft("one", "f" * 64), ScorerFiles("v1 fixed", "pydantic\n"),
                                     lambda rows: max(r.version for r in rows))
    assert replaced == dataclasses.replace(replaced, name="one", version=first.version)
    found = await a.scorer_files("one", 1)
    assert found is not None
    assert found[0].sha256 == "f" * 64 and found[1] == ScorerFiles("v1 fixed", "pydantic\n")
    assert await a.scorer_files("one", 2) is None


async def test_deleting_one_version_or_all(replicas: tuple[SharedState, SharedState]) -> None:
    a, b = replicas
    for _ in range(3):
        await a.store_version(_draft("gone"), ScorerFiles("s", ""), _next)
    assert [s.version for s in await b.delete_versions("gone", 2)] == [2]
    assert [s.version for s in await a.scorer_versions()] == [1, 3]
    assert await b.delete_versions("gone", 2) == []
    assert [s.version for s in await b.delete_versions("gone", None)] == [1, 3]
    assert await a.scorer_versions() == []
