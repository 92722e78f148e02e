"""The kind of each uploaded scorer version (example or trace) in the shared state, on SQLite and
PostgreSQL: written with the version, replaced by an overwrite, gone with a delete, and ``example`` for
versions stored before trace scorers existed (no kind row)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from evaluator_service.registry import EnvironmentInstaller, Registry, UploadMode
from evaluator_service.state import open_shared_state, schema

SCORERS = Path(__file__).parents[1] / "hosted" / "scorers"
TRACE_SOURCE = (SCORERS / "trace_scorers.py").read_text()
EXAMPLE_SOURCE = (Path(__file__).parents[2] / "examples" / "customer_service"
                  / "customer_service_scorer.py").read_text()
NAME = "Tool Loop Scorer"


@pytest.fixture
async def pair(tmp_path: Path, state_url: str, envs_dir: Path) -> AsyncIterator[tuple[Registry, Registry]]:
    installer = EnvironmentInstaller(envs_dir, pip_args=("--no-index",), pip_timeout_s=120)
    replicas = [Registry(tmp_path / name, state=open_shared_state(state_url), installer=installer)
                for name in ("replica-a", "replica-b")]
    for registry in replicas:
        await registry.start()
    yield replicas[0], replicas[1]
    for registry in replicas:
        await registry.close()
        await registry.state.close()


async def upload(registry: Registry, source: str, mode: UploadMode = UploadMode.CREATE) -> None:
    class_name = "ToolLoopScorer" if source is TRACE_SOURCE else ""
    await registry.upload(name=NAME, source=source, source_filename="scorers.py", requirements="",
                          mode=mode, class_name=class_name)


async def kinds(registry: Registry) -> list[tuple[int, str]]:
    await registry.refresh()
    return [(s.version, s.kind) for s in registry.versions(NAME)]


async def test_kinds_follow_uploads_overwrites_and_deletes_on_every_replica(
    pair: tuple[Registry, Registry]
) -> None:
    writer, reader = pair
    await upload(writer, TRACE_SOURCE)
    await upload(writer, EXAMPLE_SOURCE, UploadMode.NEW_VERSION)
    assert await kinds(reader) == [(1, "trace"), (2, "example")]
    await upload(reader, TRACE_SOURCE, UploadMode.OVERWRITE)  # replaces the latest version, 2
    assert await kinds(writer) == [(1, "trace"), (2, "trace")]
    await writer.delete(NAME)
    await upload(writer, EXAMPLE_SOURCE)  # version 3: numbers are never reused, and no stale kind row
    assert await kinds(reader) == [(3, "example")]
    found = await reader.state.scorer_files(NAME, 3)
    assert found is not None and found[0].kind == "example"
    assert await reader.state.scorer_files(NAME, 1) is None


async def test_versions_stored_before_trace_scorers_are_example_scorers(state_url: str) -> None:
    state = open_shared_state(state_url)
    await state.open()
    try:
        async with state._transaction() as tx:  # a row as an older evaluator wrote it: no kind row
            await tx.execute(schema.UPSERT_VERSION, (NAME, 1, "0" * 64, 1.0, "Old", "old.py", "h", "old",
                                                     "source", ""))
        (stored,) = await state.scorer_versions()
        assert (stored.name, stored.version, stored.kind) == (NAME, 1, "example")
    finally:
        await state.close()
