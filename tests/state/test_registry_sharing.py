"""The scorer registry over shared state: two replicas (separate data directories, one database) see each
other's uploads, new versions, overwrites and deletes, and never hand out one version twice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from judgeval.protocol.evaluation_request import EvaluationRequest, ScorerRef

from evaluator_service.registry import EnvironmentInstaller, Registry, ScorerExists, UploadMode
from evaluator_service.sandbox.pool import SandboxPool
from evaluator_service.sandbox.uploaded_source import UploadedScorerSource
from evaluator_service.scoring.contract import UnknownScorerError
from evaluator_service.state import open_shared_state
from tests.support.polling import eventually_async

DOCS_SCORER = Path(__file__).parents[2] / "examples" / "customer_service" / "customer_service_scorer.py"
SOURCE = DOCS_SCORER.read_text()
REQUIREMENTS = "pydantic\nopenai\n"
NAME = "Package Inquiry Scorer"


@pytest.fixture
async def pair(tmp_path: Path, state_url: str, envs_dir: Path) -> AsyncIterator[tuple[Registry, Registry]]:
    # One installer: both replicas would build the same environment otherwise (tests share envs_dir).
    installer = EnvironmentInstaller(envs_dir, pip_args=("--no-index",), pip_timeout_s=120)
    replicas = [Registry(tmp_path / name, state=open_shared_state(state_url), installer=installer)
                for name in ("replica-a", "replica-b")]
    for registry in replicas:
        await registry.start()
    yield replicas[0], replicas[1]
    for registry in replicas:
        await registry.close()
        await registry.state.close()


async def upload(registry: Registry, mode: UploadMode = UploadMode.CREATE, source: str = SOURCE):
    return await registry.upload(name="", source=source, source_filename=DOCS_SCORER.name,
                                 requirements=REQUIREMENTS, mode=mode)


async def test_upload_on_one_replica_is_resolvable_with_its_source_on_another(
    pair: tuple[Registry, Registry]
) -> None:
    a, b = pair
    stored = await upload(a)
    assert b.find(NAME) is None  # not yet polled
    await b.refresh()
    assert b.find(NAME) == stored
    assert not b.source_path(stored).exists()  # B fetches the text only when it first needs it
    assert await b.read_source(stored) == SOURCE
    assert await b.read_requirements(stored) == REQUIREMENTS
    assert b.source_path(stored).read_text() == SOURCE
    assert b.source_path(stored).is_relative_to(b.data_dir)


async def test_background_refresh_brings_uploads_without_an_explicit_call(
    pair: tuple[Registry, Registry]
) -> None:
    a, b = pair
    stored = await upload(a)
    # the poll runs every second; give a loaded machine plenty of time
    await eventually_async(lambda: b.find(NAME) is not None, "B finds the upload", timeout=20)
    assert b.find(NAME) == stored


async def test_concurrent_uploads_of_one_name_on_two_replicas(pair: tuple[Registry, Registry]) -> None:
    a, b = pair
    both = await asyncio.gather(upload(a, UploadMode.NEW_VERSION),
                                upload(b, UploadMode.NEW_VERSION, SOURCE + "\n# b\n"))
    assert sorted(s.version for s in both) == [1, 2]
    outcomes = await asyncio.gather(upload(a, source=SOURCE + "\n# c\n"),
                                    upload(b, source=SOURCE + "\n# d\n"), return_exceptions=True)
    assert all(isinstance(o, ScorerExists) for o in outcomes)  # the name exists: CREATE must refuse
    await a.refresh()
    assert [s.version for s in a.versions(NAME)] == [1, 2]


async def test_new_versions_overwrites_and_deletes_propagate(pair: tuple[Registry, Registry]) -> None:
    a, b = pair
    changed: list[str] = []
    b.add_listener(changed.append)
    first = await upload(a)
    assert await b.read_source(first) == SOURCE  # B has it cached now
    await upload(a, UploadMode.NEW_VERSION, SOURCE + "\n# v2\n")
    await b.refresh()
    assert [s.version for s in b.versions(NAME)] == [1, 2] and changed == []
    fixed = await upload(a, UploadMode.OVERWRITE, SOURCE + "\n# v2 fixed\n")
    await b.refresh()
    assert b.find(NAME) == fixed and changed == [NAME]  # B drops sandbox workers running the old code
    assert (await b.read_source(fixed)).endswith("# v2 fixed\n")
    assert await a.delete(NAME, 1) == [first]
    await b.refresh()
    assert [s.version for s in b.versions(NAME)] == [2]
    assert not b.source_path(first).exists()  # B's cached copy of the deleted version is gone
    await a.delete(NAME)
    await b.refresh()
    assert b.find(NAME) is None and b.list_scorers() == [] and changed == [NAME, NAME, NAME]


async def test_hosted_source_rechecks_the_database_for_names_and_versions_it_has_not_polled_yet(
    pair: tuple[Registry, Registry]
) -> None:
    a, b = pair
    pool = SandboxPool()  # no worker starts: every request here ends before running scorer code
    source = UploadedScorerSource(b, pool, recheck_unknown=True)
    await upload(a)
    await b.refresh()
    await upload(a, UploadMode.NEW_VERSION, SOURCE + "\n# v2\n")  # B has not polled since
    pinned = ScorerRef(name=NAME, version=3)
    missing = source.resolve(pinned)
    assert missing is not None
    with pytest.raises(UnknownScorerError, match=r"has no version 3 \(latest is 2\)"):
        await missing.score({}, EvaluationRequest(pinned, {}))
    nobody = ScorerRef(name="nobody uploaded this")
    unknown = source.resolve(nobody)
    assert unknown is not None
    with pytest.raises(UnknownScorerError, match="no scorer named 'nobody uploaded this'"):
        await unknown.score({}, EvaluationRequest(nobody, {}))
    assert UploadedScorerSource(b, pool).resolve(nobody) is None  # without recheck, unknown falls through
    await pool.close()
