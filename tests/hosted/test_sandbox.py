"""Uploaded scorers scored through UploadedScorerSource in real sandbox workers.

Limits are small (256 MiB; 2 s wall clock for runaway scorers) so hostile scorers are stopped quickly.
After each hostile scorer, a good scorer must still score: the evaluator and the pool survive.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from judgeval.protocol.evaluation_request import EvaluationRequest, ScorerRef
from judgeval.testing import RecordedOpenAIServer, Recording

from evaluator_service.registry import Registry
from evaluator_service.sandbox import SandboxConfig, SandboxLimits, SandboxPool, UploadedScorerSource
from evaluator_service.scoring.contract import (
    FatalScorerError,
    InvalidExampleError,
    ScoreOutcome,
    ScorerCrashedError,
    UnknownScorerError,
)

from .admin_server import DOCS_REQUIREMENTS, DOCS_SCORER, SCORERS

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the full sandbox needs a root evaluator")
HOSTILE = SCORERS / "hostile_scorers.py"
LIMITS = SandboxLimits(wall_timeout_s=2, startup_timeout_s=30, memory_bytes=256 * 1024 * 1024,
                       file_size_bytes=8 * 1024 * 1024, max_processes=32, cpu_seconds=10)
# Scorers that talk to the judge get headroom on a loaded CI machine; only runaway tests need 2 s.
RELAXED = replace(LIMITS, wall_timeout_s=20)


@pytest.fixture
async def pool() -> AsyncIterator[SandboxPool]:
    sandbox = SandboxPool(SandboxConfig(limits=RELAXED, workers_per_scorer=1))
    yield sandbox
    await sandbox.close()


@pytest.fixture
def source(registry: Registry, pool: SandboxPool) -> UploadedScorerSource:
    return UploadedScorerSource(registry, pool)


@pytest.fixture
async def strict_source(registry: Registry) -> AsyncIterator[UploadedScorerSource]:
    sandbox = SandboxPool(SandboxConfig(limits=LIMITS, workers_per_scorer=1))
    yield UploadedScorerSource(registry, sandbox)
    await sandbox.close()


async def upload_hostile(registry: Registry, class_name: str) -> str:
    stored = await registry.upload(name=class_name, source=HOSTILE.read_text(), source_filename=HOSTILE.name,
                                   requirements="", class_name=class_name)
    return stored.name


async def score(source: UploadedScorerSource, name: str, example: dict | None = None,
                **config: object) -> ScoreOutcome:
    ref = ScorerRef(name=name, config=dict(config))
    scorer = source.resolve(ref)
    assert scorer is not None
    request = EvaluationRequest(scorer=ref, example=example or {"request": "q", "response": "fine"})
    return await scorer.score(request.example, request)


async def test_docs_scorer_runs_unmodified_against_the_judge(
    registry: Registry, source: UploadedScorerSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    await registry.upload(name="", source=DOCS_SCORER.read_text(), source_filename=DOCS_SCORER.name,
                          requirements=DOCS_REQUIREMENTS)
    judge = RecordedOpenAIServer([Recording(match=["Does the response address package-related concerns",
                                                   "Where is my package"], answer="YES"),
                                  Recording(answer="NO")])
    with judge:
        monkeypatch.setenv("OPENAI_BASE_URL", judge.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-recorded")
        yes = await score(source, "Package Inquiry Scorer",
                          {"request": "Where is my package?", "response": "It ships tomorrow."})
        no = await score(source, "Package Inquiry Scorer", {"request": "Hi", "response": "Hello"})
    assert yes == ScoreOutcome(1.0, "LLM evaluation: Response appropriately addresses package inquiry")
    assert no.value == 0.0
    assert len(judge.requests) == 2 and judge.requests[0]["model"] == "gpt-5-mini"


async def test_unknown_names_fall_through_and_missing_versions_are_named(
    registry: Registry, source: UploadedScorerSource
) -> None:
    assert source.resolve(ScorerRef(name="nobody uploaded this")) is None
    name = await upload_hostile(registry, "GoodScorer")
    pinned = source.resolve(ScorerRef(name=name, version=3))
    assert pinned is not None
    request = EvaluationRequest(scorer=ScorerRef(name=name, version=3), example={})
    with pytest.raises(UnknownScorerError, match="has no version 3 \\(latest is 1\\)"):
        await pinned.score({}, request)


async def test_secrets_and_data_dir_are_out_of_reach(
    registry: Registry, source: UploadedScorerSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUDGMENT_API_KEY", "evaluator-secret")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-allowed")
    name = await upload_hostile(registry, "SnoopScorer")
    outcome = await score(source, name, data_dir=str(registry.data_dir))
    report = json.loads(outcome.reason or "{}")
    assert "JUDGMENT_API_KEY" not in report["env"] and "OPENAI_API_KEY" in report["env"]
    assert report["environ_with_key"] == []
    assert report["data_dir_list"].startswith("denied") or report["data_dir_list"] == "ok: []"
    assert report["data_dir_walk"] == "ok: []" or report["data_dir_walk"].startswith("denied")
    assert report["uid"] != 0  # the evaluator runs as root; scorer code never does
    assert len(report["pids"]) <= 3  # a private PID namespace: init, worker and nothing else


async def test_writes_outside_the_work_directory_do_not_land(
    registry: Registry, source: UploadedScorerSource, tmp_path: Path
) -> None:
    targets = [str(tmp_path / "pwned.txt"), str(registry.data_dir / "pwned.txt"),
               f"/tmp/judgeval-pwned-{uuid.uuid4().hex}", str(Path(__file__).with_name("pwned.txt"))]
    name = await upload_hostile(registry, "EscapeScorer")
    await score(source, name, targets=targets)
    assert [t for t in targets if os.path.exists(t)] == []


@pytest.mark.parametrize(
    ("class_name", "message"),
    [
        ("InfiniteLoopScorer", "timed out after 2 s"),
        ("ForkBombScorer", "timed out after 2 s"),
        ("MemoryHogScorer", "MemoryError"),
        ("LoudScorer", "File too large"),
        ("AbortScorer", "signal SIGABRT"),
        ("SegfaultScorer", "signal SIGSEGV"),
    ],
)
async def test_hostile_scorers_are_contained(
    registry: Registry, strict_source: UploadedScorerSource, class_name: str, message: str
) -> None:
    source = strict_source
    name = await upload_hostile(registry, class_name)
    with pytest.raises(ScorerCrashedError, match=message):
        await score(source, name)
    good = await upload_hostile(registry, "GoodScorer")
    assert await score(source, good) == ScoreOutcome(0.75, "saw 'fine'")
    with pytest.raises(ScorerCrashedError, match=message):  # the bad one keeps failing, nothing lingers
        await score(source, name)
    assert await score(source, good) == ScoreOutcome(0.75, "saw 'fine'")


async def test_judge_errors_map_to_the_scoring_contract(
    registry: Registry, source: UploadedScorerSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    await registry.upload(name="", source=DOCS_SCORER.read_text(), source_filename=DOCS_SCORER.name,
                          requirements=DOCS_REQUIREMENTS)
    with RecordedOpenAIServer([Recording(status=401)]) as judge:
        monkeypatch.setenv("OPENAI_BASE_URL", judge.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-revoked")
        with pytest.raises(FatalScorerError, match="AuthenticationError"):
            await score(source, "Package Inquiry Scorer", {"request": "r", "response": "s"})
    with pytest.raises(InvalidExampleError, match="response"):
        await score(source, "Package Inquiry Scorer", {"request": "only a request"})


@pytest.mark.parametrize(("network", "expected"), [("host", "ok: 'connected'"), ("none", "denied: ")])
async def test_network_option(registry: Registry, network: str, expected: str) -> None:
    pool = SandboxPool(SandboxConfig(limits=RELAXED, network=network))  # type: ignore[arg-type]
    try:
        with RecordedOpenAIServer([]) as judge:
            name = await upload_hostile(registry, "NetworkScorer")
            address = f"127.0.0.1:{judge.port}"
            outcome = await score(UploadedScorerSource(registry, pool), name, address=address)
    finally:
        await pool.close()
    assert (outcome.reason or "").startswith(expected)


async def test_concurrent_requests_share_a_bounded_pool(registry: Registry) -> None:
    pool = SandboxPool(SandboxConfig(limits=RELAXED, workers_per_scorer=2))
    source = UploadedScorerSource(registry, pool)
    try:
        name = await upload_hostile(registry, "GoodScorer")
        outcomes = await asyncio.gather(*(score(source, name, {"response": str(i)}) for i in range(6)))
        assert [o.reason for o in outcomes] == [f"saw '{i}'" for i in range(6)]
        assert len(pool.program_keys()) == 1
    finally:
        await pool.close()


async def test_a_scorer_that_cannot_load_reports_why(
    registry: Registry, source: UploadedScorerSource
) -> None:
    path = SCORERS / "missing_dependency_scorer.py"
    await registry.upload(name="needs more", source=path.read_text(), source_filename=path.name,
                          requirements="")
    with pytest.raises(ScorerCrashedError, match=r"failed to load: .*No module named 'judgeval_not_"):
        await score(source, "needs more")


async def test_rlimits_only_mode_still_scores_and_stops_runaways(registry: Registry) -> None:
    """What a host without root or namespaces gets: limits, timeout and scrubbed env, same uid."""
    pool = SandboxPool(SandboxConfig(limits=LIMITS, isolation="none", network="host"))
    source = UploadedScorerSource(registry, pool)
    try:
        good = await upload_hostile(registry, "GoodScorer")
        loop = await upload_hostile(registry, "InfiniteLoopScorer")
        with pytest.raises(ScorerCrashedError, match="timed out after 2 s"):
            await score(source, loop)
        assert await score(source, good) == ScoreOutcome(0.75, "saw 'fine'")
        assert pool.isolation.startswith("rlimits-only")  # no bubblewrap; cgroups when the host has them
    finally:
        await pool.close()


async def test_hidden_paths_outside_tmp_are_masked(registry: Registry) -> None:
    """The data directory usually lives outside /tmp (e.g. /var/lib/...); hiding must not rely on /tmp."""
    candidates = ("/etc/apt", "/etc/default", "/etc/ssl")
    visible = next((d for d in candidates if os.path.isdir(d) and os.listdir(d)), None)
    assert visible is not None
    pool = SandboxPool(SandboxConfig(limits=RELAXED, hidden_paths=(Path(visible),)))
    try:
        name = await upload_hostile(registry, "SnoopScorer")
        outcome = await score(UploadedScorerSource(registry, pool), name, data_dir=visible)
    finally:
        await pool.close()
    listing = json.loads(outcome.reason or "{}")["data_dir_list"]
    assert listing == "ok: []" or listing.startswith("denied"), listing


async def test_idle_workers_are_reused_then_stopped(registry: Registry) -> None:
    pool = SandboxPool(SandboxConfig(limits=replace(RELAXED, idle_timeout_s=0)))
    source = UploadedScorerSource(registry, pool)
    try:
        good = await upload_hostile(registry, "GoodScorer")
        await score(source, good)
        assert pool.idle_workers() == 1  # kept for the next request
        other = await upload_hostile(registry, "NetworkScorer")
        await score(source, other, address="127.0.0.1:1")
        assert pool.idle_workers() == 1  # GoodScorer's worker was idle too long and is gone
    finally:
        await pool.close()
    assert pool.idle_workers() == 0
