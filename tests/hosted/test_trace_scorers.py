"""Uploaded ``TraceScorer`` classes: uploaded with the ``judgeval`` CLI through a running evaluator, stored
with their kind, scored in real sandbox workers through ``app.trajectory_scorers`` (the ``score_trace``
operation), with the sandbox's crash and time limits, and refused for the other kind of request."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from judgeval.protocol.evaluation_request import EvaluationRequest, ScorerRef

from evaluator_service.admin import HostedScorers
from evaluator_service.app import EvaluatorApp
from evaluator_service.config import load_config
from evaluator_service.registry import Registry, UploadMode
from evaluator_service.sandbox import SandboxConfig, SandboxLimits, SandboxPool, UploadedScorerSource
from evaluator_service.sandbox import uploaded_trace_source as sandboxed
from evaluator_service.sandbox.uploaded_trace_source import UploadedTraceScorerSource
from evaluator_service.scoring.contract import (
    InvalidExampleError,
    ScorerCrashedError,
    ScorerKindError,
    ScorerLimitError,
    TrajectoryScorer,
)
from tests.evaluator.trajectories.fixtures import TraceBuilder, clean_trace, looping_trace, request
from tests.support.cli import run_cli

from .admin_server import API_KEY, DOCS_REQUIREMENTS, DOCS_SCORER, SCORERS

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the full sandbox needs a root evaluator")
TRACE_SCORERS = SCORERS / "trace_scorers.py"
LIMITS = SandboxLimits(wall_timeout_s=3, startup_timeout_s=30, memory_bytes=256 * 1024 * 1024,
                       file_size_bytes=8 * 1024 * 1024, max_processes=32, cpu_seconds=10)


@pytest.fixture
async def trace_source(registry: Registry) -> AsyncIterator[UploadedTraceScorerSource]:
    pool = SandboxPool(SandboxConfig(limits=LIMITS, workers_per_scorer=1))
    yield UploadedTraceScorerSource(UploadedScorerSource(registry, pool))
    await pool.close()


async def upload(registry: Registry, class_name: str) -> str:
    stored = await registry.upload(name="", source=TRACE_SCORERS.read_text(),
                                   source_filename=TRACE_SCORERS.name, requirements="", class_name=class_name)
    return stored.name


def resolved(scorer: TrajectoryScorer | None) -> TrajectoryScorer:
    assert scorer is not None
    return scorer


async def test_a_trace_scorer_uploaded_with_the_cli_scores_trajectories_in_the_sandbox(
    tmp_path: Path, envs_dir: Path
) -> None:
    config = load_config(listen="127.0.0.1:0", data_dir=str(tmp_path / "data"), api_key=API_KEY, environ={})
    hosted = HostedScorers.create(config.data_dir, config.api_key, SandboxConfig(limits=LIMITS),
                                  envs_dir=envs_dir, pip_args=("--no-index",))
    app = EvaluatorApp(config, scorer_sources=[hosted.source], service_installers=[hosted.install],
                       trajectory_sources=[hosted.trajectory_source])
    await app.start()
    try:
        env = {"JUDGMENT_API_URL": f"127.0.0.1:{app.port}", "JUDGMENT_API_KEY": API_KEY}
        requirements = tmp_path / "requirements.txt"
        requirements.write_text("")
        uploaded = await run_cli("upload_scorer", str(TRACE_SCORERS), str(requirements),
                                 "--class", "ToolLoopScorer", env=env)
        assert uploaded.code == 0, uploaded.stderr
        stored = hosted.registry.get("Tool Loop Scorer")
        assert (stored.kind, stored.class_name) == ("trace", "ToolLoopScorer")
        scorer = resolved(app.trajectory_scorers.resolve(ScorerRef(name="Tool Loop Scorer")))
        looping = await scorer.score_trajectory(looping_trace(4), request("Tool Loop Scorer"))
        clean = await scorer.score_trajectory(clean_trace(), request("Tool Loop Scorer"))
        strict = await scorer.score_trajectory(
            looping_trace(2), request("Tool Loop Scorer", {"max_repeats": 1}))
    finally:
        await app.stop(grace=2.0)
        await hosted.close()
    assert (looping.value, looping.reason) == (0.0, "search called 4 times in a row (agents "
                                                    "['weather_agent'], 8 steps)")
    assert (clean.value, clean.reason) == (1.0, "no loops (agents ['weather_agent'], 4 steps)")
    assert strict.value == 0.0  # the request's scorer config reached the class's fields


async def test_the_kind_is_stored_per_version_and_seen_by_another_replica(registry: Registry) -> None:
    await upload(registry, "ToolLoopScorer")
    await registry.upload(name="Tool Loop Scorer", source=DOCS_SCORER.read_text(),
                          source_filename=DOCS_SCORER.name, requirements=DOCS_REQUIREMENTS,
                          mode=UploadMode.NEW_VERSION)
    other = Registry(registry.data_dir.with_name("replica"), state=registry.state)
    await other.refresh()
    assert [(s.version, s.kind) for s in other.versions("Tool Loop Scorer")] == [(1, "trace"), (2, "example")]
    await registry.delete("Tool Loop Scorer", 2)
    await other.refresh()
    assert [(s.version, s.kind) for s in other.versions("Tool Loop Scorer")] == [(1, "trace")]


async def test_each_kind_of_request_refuses_the_other_kind_of_uploaded_scorer(
    registry: Registry, trace_source: UploadedTraceScorerSource
) -> None:
    trace_name = await upload(registry, "ToolLoopScorer")
    await registry.upload(name="", source=DOCS_SCORER.read_text(), source_filename=DOCS_SCORER.name,
                          requirements=DOCS_REQUIREMENTS)
    span_scorer = trace_source.uploads.resolve(ScorerRef(name=trace_name))
    assert span_scorer is not None
    span_request = EvaluationRequest(ScorerRef(name=trace_name), {"request": "q", "response": "r"})
    with pytest.raises(ScorerKindError, match=r"'Tool Loop Scorer' is a trajectory scorer \(an uploaded "
                                              r"TraceScorer, ToolLoopScorer v1\).*TraceScorerConfig"):
        await span_scorer.score(span_request.example, span_request)
    example_scorer = resolved(trace_source.resolve(ScorerRef(name="Package Inquiry Scorer")))
    with pytest.raises(ScorerKindError, match=r"'Package Inquiry Scorer' is a span scorer \(an uploaded "
                                              r"ExampleScorer, PackageInquiryScorer v1\).*async_evaluate"):
        await example_scorer.score_trajectory(clean_trace(), request("Package Inquiry Scorer"))
    assert trace_source.resolve(ScorerRef(name="nobody uploaded this")) is None


@pytest.mark.parametrize(("class_name", "message"), [
    ("CrashingTraceScorer", "RuntimeError: cannot handle 9 spans"),
    ("RunawayTraceScorer", "timed out after 3 s"),
    ("ExitingTraceScorer", "exit"),
])
async def test_crashes_and_runaways_fail_their_trajectory_and_the_pool_recovers(
    registry: Registry, trace_source: UploadedTraceScorerSource, class_name: str, message: str
) -> None:
    name = await upload(registry, class_name)
    scorer = resolved(trace_source.resolve(ScorerRef(name=name)))
    with pytest.raises(ScorerCrashedError, match=message):
        await scorer.score_trajectory(looping_trace(4), request(name))
    good = resolved(trace_source.resolve(ScorerRef(name=await upload(registry, "ToolLoopScorer"))))
    assert (await good.score_trajectory(looping_trace(4), request("Tool Loop Scorer"))).value == 0.0


async def test_a_trajectory_too_large_for_the_sandbox_is_a_limit_error(
    registry: Registry, trace_source: UploadedTraceScorerSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = await upload(registry, "ToolLoopScorer")
    monkeypatch.setattr(sandboxed, "MAX_TRACE_BYTES", 2_000)
    scorer = resolved(trace_source.resolve(ScorerRef(name=name)))
    with pytest.raises(ScorerLimitError, match=r"the trajectory is \d+ bytes as JSON \(9 spans\), over the "
                                               "2000 bytes"):
        await scorer.score_trajectory(looping_trace(4), request(name))


async def test_a_large_trajectory_crosses_into_the_sandbox_whole(
    registry: Registry, trace_source: UploadedTraceScorerSource
) -> None:
    builder = TraceBuilder()
    for page in range(2_000):
        builder.tool("search", {"query": "weather", "page": page}, result="r" * 100)
    for _ in range(5):
        builder.tool("search", {"query": "weather", "page": "last"})
    name = await upload(registry, "ToolLoopScorer")
    scorer = resolved(trace_source.resolve(ScorerRef(name=name)))
    outcome = await scorer.score_trajectory(builder.build(), request(name))
    assert (outcome.value, outcome.reason) == (0.0, "search called 5 times in a row (agents "
                                                    "['weather_agent'], 2005 steps)")


async def test_a_trajectory_nested_too_deeply_for_json_fails_alone(
    registry: Registry, trace_source: UploadedTraceScorerSource
) -> None:
    deep: list[object] = []
    for _ in range(100_000):
        deep = [deep]
    name = await upload(registry, "ToolLoopScorer")
    scorer = resolved(trace_source.resolve(ScorerRef(name=name)))
    trace = TraceBuilder().tool("search", deep).build()
    with pytest.raises(InvalidExampleError, match="values nested too deeply"):
        await scorer.score_trajectory(trace, request(name))
    assert (await scorer.score_trajectory(clean_trace(), request(name))).value == 1.0
