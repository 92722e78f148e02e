"""Current and shadow versions over shared state, on SQLite and PostgreSQL: an upload in shadow never
becomes what production runs, a promotion switches it on both replicas, deletes and plain uploads keep the
pointers sensible, and shadow results compare and prune as documented."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from evaluator_service.registry import EnvironmentInstaller, PointerRefused, Registry, UploadMode
from evaluator_service.state import open_shared_state
from evaluator_service.state.shadow_rows import ShadowResult

DOCS_SCORER = Path(__file__).parents[2] / "examples" / "customer_service" / "customer_service_scorer.py"
SOURCE = DOCS_SCORER.read_text()
REQUIREMENTS = "pydantic\nopenai\n"
NAME = "Package Inquiry Scorer"


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


async def upload(registry: Registry, tag: str, mode: UploadMode = UploadMode.NEW_VERSION,
                 shadow: bool = False) -> int:
    stored = await registry.upload(name="", source=f"{SOURCE}\n# {tag}\n", source_filename=DOCS_SCORER.name,
                                   requirements=REQUIREMENTS, mode=mode, shadow=shadow, by="tester")
    return stored.version


def current(registry: Registry) -> int | None:
    found = registry.find(NAME)
    return None if found is None else found.version


async def test_shadow_upload_leaves_production_on_the_current_version_until_promoted(
    pair: tuple[Registry, Registry]
) -> None:
    a, b = pair
    assert await upload(a, "v1", UploadMode.CREATE) == 1
    assert await upload(a, "v2", shadow=True) == 2
    await b.refresh()
    for replica in (a, b):
        assert current(replica) == 1
        shadow = replica.shadow(NAME)
        assert shadow is not None and shadow.version == 2
        assert replica.pointer(NAME).shadow_by == "tester"
    promotion = await a.promote(NAME, 2, "alice@laptop")
    assert (promotion.version, promotion.previous_version, promotion.by) == (2, 1, "alice@laptop")
    await b.refresh()
    for replica in (a, b):
        assert current(replica) == 2
        assert replica.shadow(NAME) is None  # promoting the shadow version stops its shadow
        assert replica.pointer(NAME).promoted_by == "alice@laptop"
    assert [p.version for p in await b.state.promotions(NAME)] == [2]


async def test_stopping_or_replacing_a_shadow_never_makes_a_shadow_version_current(
    pair: tuple[Registry, Registry]
) -> None:
    a, _ = pair
    await upload(a, "v1", UploadMode.CREATE)
    await upload(a, "v2", shadow=True)
    await upload(a, "v3", shadow=True)  # v3 replaces v2 in shadow: v2 was never current, and is not now
    assert (current(a), a.shadow(NAME).version) == (1, 3)  # type: ignore[union-attr]
    await a.start_shadow(NAME, 2, "ops")
    assert (current(a), a.shadow(NAME).version) == (1, 2)  # type: ignore[union-attr]
    await a.stop_shadow(NAME, "ops")
    assert current(a) == 1 and a.shadow(NAME) is None
    assert a.pointer(NAME).promoted_at is None  # pinned, not promoted


async def test_promote_back_to_an_older_version_then_a_plain_upload_is_current_again(
    pair: tuple[Registry, Registry]
) -> None:
    a, _ = pair
    await upload(a, "v1", UploadMode.CREATE)
    await upload(a, "v2")
    assert current(a) == 2
    await a.promote(NAME, 1, "ops")  # a rollback
    assert current(a) == 1
    assert await upload(a, "v3") == 3
    assert current(a) == 3  # a plain new version is what production runs, as without pointers


async def test_shadow_and_promote_refuse_unknown_or_current_versions_with_clear_messages(
    pair: tuple[Registry, Registry]
) -> None:
    a, _ = pair
    with pytest.raises(PointerRefused, match="upload it without --shadow first"):
        await upload(a, "v1", UploadMode.CREATE, shadow=True)
    assert a.versions(NAME) == []  # refused before anything was stored
    await upload(a, "v1", UploadMode.CREATE)
    with pytest.raises(PointerRefused, match=r"has no version 7 \(versions: 1\)"):
        await a.promote(NAME, 7, "ops")
    with pytest.raises(PointerRefused, match="is its current version"):
        await a.start_shadow(NAME, 1, "ops")
    with pytest.raises(PointerRefused, match="no scorer named 'Other'"):
        await a.start_shadow("Other", 1, "ops")
    with pytest.raises(PointerRefused, match="has no version in shadow"):
        await a.stop_shadow(NAME, "ops")
    with pytest.raises(PointerRefused, match="overwrite in shadow would change what production runs"):
        await upload(a, "v1 again", UploadMode.OVERWRITE, shadow=True)
    assert current(a) == 1 and a.shadow(NAME) is None


async def test_shadow_an_existing_version_stop_it_and_delete_versions(
    pair: tuple[Registry, Registry]
) -> None:
    a, b = pair
    await upload(a, "v1", UploadMode.CREATE)
    await upload(a, "v2")
    await a.promote(NAME, 1, "ops")
    await a.start_shadow(NAME, 2, "ops")
    await b.refresh()
    assert (current(b), b.shadow(NAME).version) == (1, 2)  # type: ignore[union-attr]
    stopped = await b.stop_shadow(NAME, "ops")
    assert stopped.shadow_version == 2
    await a.refresh()
    assert a.shadow(NAME) is None and current(a) == 1
    await a.start_shadow(NAME, 2, "ops")
    await a.delete(NAME, 2)  # deleting the shadow version stops the shadow
    assert a.shadow(NAME) is None and current(a) == 1
    candidate = await upload(a, "v2 again", shadow=True)
    await a.delete(NAME, 1)  # the promoted version is gone: the latest not in shadow would be current ...
    assert current(a) == candidate  # ... and only the shadow version is left, so it is what runs
    await a.delete(NAME)
    assert a.pointer(NAME).shadow_version is None


def result(record: str, at: float, current: bool | None, shadow: bool | None, *, version: int = 2,
           scores: tuple[float | None, float | None] = (1.0, 0.0)) -> ShadowResult:
    return ShadowResult(record_id=f"{record}:{'0' * 16}:{NAME}", scorer=NAME, trace_id=record,
                        span_id="0" * 16, current_version=1, shadow_version=version, current_score=scores[0],
                        current_passed=current, current_reason=f"cur {record}", shadow_score=scores[1],
                        shadow_passed=shadow, shadow_reason=f"new {record}", at=at)


async def test_compare_counts_rates_delta_and_changed_cases(state_url: str) -> None:
    state = open_shared_state(state_url)
    await state.open()
    try:
        await state.store_shadow_results([
            result("a", 1.0, True, True, scores=(1.0, 1.0)),
            result("b", 2.0, True, False, scores=(1.0, 0.0)),
            result("c", 3.0, False, False, scores=(0.0, 0.0)),
            result("d", 4.0, False, None, scores=(0.0, None)),  # the shadow version crashed
            result("e", 5.0, True, True, version=3, scores=(1.0, 1.0)),
        ])
        await state.store_shadow_results([result("a", 6.0, True, False, scores=(1.0, 0.5))])  # redelivered
        assert await state.shadow_versions_compared(NAME) == [2, 3]
        comparison = await state.compare_shadow(NAME, 2, changed_limit=10)
        assert (comparison.count, comparison.current_scored, comparison.shadow_scored) == (4, 4, 3)
        assert (comparison.current_passed, comparison.shadow_passed) == (2, 0)
        assert (comparison.compared, comparison.agreed, comparison.changed_count) == (3, 1, 3)
        assert comparison.current_pass_rate == 0.5 and comparison.shadow_pass_rate == 0.0
        assert comparison.agreement_rate == pytest.approx(1 / 3)
        assert comparison.mean_score_delta == pytest.approx((-0.5 - 1.0 + 0.0) / 3)
        assert [c.trace_id for c in comparison.changed] == ["a", "d", "b"]  # newest first
        newest = comparison.changed[0]
        assert (newest.current_reason, newest.shadow_reason) == ("cur a", "new a")
        assert comparison.current_versions == [1]
        assert await state.prune_shadow_results(older_than=3.0, keep_at_most=100) == 1  # "b"
        assert await state.prune_shadow_results(older_than=0.0, keep_at_most=2) == 2  # keeps "e" and "a"
        assert (await state.compare_shadow(NAME, 2)).count == 1
    finally:
        await state.close()
