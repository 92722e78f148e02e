"""Scorer version numbers are never reused for one name: after deleting the latest version (or every
version), after a restart, and when two replicas upload at once, through the registry's real upload path
(validation, pip install, the shared state's transaction) on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from evaluator_service.registry import EnvironmentInstaller, Registry, UploadMode
from evaluator_service.state import open_shared_state
from evaluator_service.state.shadow_rows import ShadowResult
from evaluator_service.state.transaction import TransactionSource
from tests.state.test_registry_sharing import NAME, SOURCE, upload


def _registry(tmp_path: Path, state_url: str, envs_dir: Path, name: str) -> Registry:
    installer = EnvironmentInstaller(envs_dir, pip_args=("--no-index",), pip_timeout_s=120)
    return Registry(tmp_path / name, state=open_shared_state(state_url), installer=installer)


@pytest.fixture
async def pair(tmp_path: Path, state_url: str, envs_dir: Path) -> AsyncIterator[tuple[Registry, Registry]]:
    replicas = [_registry(tmp_path, state_url, envs_dir, name) for name in ("replica-a", "replica-b")]
    for registry in replicas:
        await registry.start()
    yield replicas[0], replicas[1]
    for registry in replicas:
        await registry.close()
        await registry.state.close()


def _numbers(registry: Registry) -> list[int]:
    return [s.version for s in registry.versions(NAME)]


async def test_deleting_the_latest_version_does_not_free_its_number(pair: tuple[Registry, Registry]) -> None:
    a, b = pair
    await upload(a)
    second = await upload(a, UploadMode.NEW_VERSION, SOURCE + "\n# 2\n")
    assert second.version == 2
    await a.delete(NAME, 2)
    third = await upload(b, UploadMode.NEW_VERSION, SOURCE + "\n# 3\n")
    assert third.version == 3
    await a.refresh()
    assert _numbers(a) == [1, 3]
    # an overwrite keeps replacing the latest stored version, it allocates nothing
    assert (await upload(a, UploadMode.OVERWRITE, SOURCE + "\n# 3b\n")).version == 3


async def test_numbers_survive_deleting_every_version_and_a_restart(
    tmp_path: Path, state_url: str, envs_dir: Path
) -> None:
    first = _registry(tmp_path, state_url, envs_dir, "before")
    await first.start()
    await upload(first)
    await upload(first, UploadMode.NEW_VERSION, SOURCE + "\n# 2\n")
    await first.delete(NAME)
    await first.close()
    await first.state.close()

    restarted = _registry(tmp_path, state_url, envs_dir, "after")
    await restarted.start()
    try:
        assert restarted.versions(NAME) == []
        assert (await upload(restarted)).version == 3  # a fresh CREATE of the name
        await restarted.delete(NAME)
        assert (await upload(restarted, UploadMode.OVERWRITE, SOURCE + "\n# o\n")).version == 4
    finally:
        await restarted.close()
        await restarted.state.close()


async def test_two_replicas_uploading_after_a_delete_get_distinct_new_numbers(
    pair: tuple[Registry, Registry]
) -> None:
    a, b = pair
    await upload(a)
    await upload(a, UploadMode.NEW_VERSION, SOURCE + "\n# 2\n")
    await a.delete(NAME, 2)
    await b.refresh()
    both = await asyncio.gather(upload(a, UploadMode.NEW_VERSION, SOURCE + "\n# a\n"),
                                upload(b, UploadMode.NEW_VERSION, SOURCE + "\n# b\n"))
    assert sorted(s.version for s in both) == [3, 4]


async def test_a_database_from_before_the_marks_keeps_numbers_its_shadow_results_name(
    tmp_path: Path, state_url: str, envs_dir: Path
) -> None:
    """A version deleted before numbers were marked still has shadow results: the next upload skips it."""
    registry = _registry(tmp_path, state_url, envs_dir, "old")
    await registry.start()
    try:
        await upload(registry)
        await registry.state.store_shadow_results([ShadowResult(
            record_id="r1", scorer=NAME, shadow_version=7, trace_id="ab" * 16, span_id="cd" * 8,
            current_version=1, current_score=1.0, current_passed=True, current_reason="",
            shadow_score=0.0, shadow_passed=False, shadow_reason="", at=1.0)])
        assert isinstance(registry.state, TransactionSource)
        async with registry.state._transaction() as tx:
            await tx.execute("DELETE FROM judgeval_scorer_version_marks")
        assert (await upload(registry, UploadMode.NEW_VERSION, SOURCE + "\n# n\n")).version == 8
    finally:
        await registry.close()
        await registry.state.close()
