"""The Scorers pages show the improvement loop from the real pipeline: a real evaluator with the sandbox and
the console, the shipping scorer uploaded with the CLI (version 2 in shadow), tagged spans over OTLP/gRPC
scored by version 1 and, in shadow, by version 2, a dataset filled by a rule, a replay of it with
``judgeval eval run``, a promotion; and a replay whose client never sent its last calls (incomplete)."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import grpc
import pytest
from judgeval.admin.v1 import evaluation_pb2 as pb
from judgeval.admin.v1 import evaluation_pb2_grpc as pb_grpc
from judgeval.testing.otlp_receiver import OtlpTraceReceiver
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

from evaluator_service.admin import HostedScorers
from evaluator_service.admin.datasets_servicer import datasets_installer
from evaluator_service.admin.evaluation_servicer import evaluation_installer
from evaluator_service.app import EvaluatorApp
from evaluator_service.config import EvaluatorConfig
from evaluator_service.datasets.redaction import Redactor
from evaluator_service.sandbox import SandboxConfig, SandboxLimits
from evaluator_service.state import open_shared_state
from tests.support.cli import CliResult, run_cli
from tests.support.shadow_versions import NAME, WITH_TRACKING, WITHOUT_TRACKING, tagged_span, write_versions

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the full sandbox needs a root evaluator")

KEY = "scorer-loop-admin-key"
TRACE_URL = "http://jaeger.test:16686/trace/{trace_id}?uiFind={span_id}"
DATASET = "shipping-answers"


@dataclass
class LoopEvaluator:
    app: EvaluatorApp
    downstream: OtlpTraceReceiver
    console: aiohttp.ClientSession

    @property
    def env(self) -> dict[str, str]:
        return {"JUDGMENT_API_URL": f"127.0.0.1:{self.app.port}", "JUDGMENT_API_KEY": KEY}

    async def cli(self, *args: str) -> CliResult:
        return await run_cli(*args, env=self.env)

    async def page(self, path: str) -> str:
        response = await self.console.get(path)
        assert response.status == 200, (path, response.status)
        return await response.text()


@asynccontextmanager
async def loop_evaluator(make_config: Callable[..., EvaluatorConfig], envs_dir: Path,
                         downstream: OtlpTraceReceiver) -> AsyncIterator[LoopEvaluator]:
    # make_config exports to ``downstream`` (the receiver fixture)
    config = make_config({
        "api_key": KEY,
        "console": {"listen": "127.0.0.1:0", "trace_url": TRACE_URL},
        "datasets": {"flush_interval_s": 0.1,
                     "rules": [{"dataset": DATASET, "scorers": [NAME], "outcome": "any"}]},
    })
    state = open_shared_state(config.state_db_url)  # wired as server_command.serve wires it
    hosted = HostedScorers.create(config.data_dir, config.api_key,
                                  SandboxConfig(limits=SandboxLimits(wall_timeout_s=20)),
                                  envs_dir=envs_dir, pip_args=("--no-index",), state=state)
    app: EvaluatorApp
    app = EvaluatorApp(config, scorer_sources=[hosted.source], shared_state=state, service_installers=[
        hosted.install, datasets_installer(state, hosted.auth, Redactor.of(config.datasets)),
        evaluation_installer(lambda: app, hosted.auth)])
    shadow = hosted.shadow_scoring(config.shadow, app.metrics)
    app.interactions.sinks.append(shadow.observe)
    await app.start()
    shadow.start()
    assert app.console is not None
    http = aiohttp.ClientSession(f"http://127.0.0.1:{app.console.port}",
                                 cookie_jar=aiohttp.CookieJar(unsafe=True))
    try:
        login = await http.post("/login", data={"key": KEY, "next": "/"}, allow_redirects=False)
        assert login.status == 303
        yield LoopEvaluator(app, downstream, http)
    finally:
        await http.close()
        await shadow.stop()
        await app.stop(grace=2.0)
        await hosted.close()
        await state.close()


async def send(evaluator: LoopEvaluator, trace_byte: int, response: str) -> None:
    trace_id = bytes([trace_byte]) * 16
    async with grpc.aio.insecure_channel(f"127.0.0.1:{evaluator.app.port}") as channel:
        await trace_service_pb2_grpc.TraceServiceStub(channel).Export(tagged_span(trace_id, response),
                                                                      timeout=10)
    await asyncio.to_thread(evaluator.downstream.wait_for,
                            lambda s: any(x.trace_id == trace_id.hex() for x in s), 60)


async def until(check: Callable[[], Awaitable[Any]], what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := await check()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {timeout}s: {what}")
        await asyncio.sleep(0.2)
    return found


async def test_scorers_pages_show_the_shadow_comparison_replays_and_promotions(
    make_config: Callable[..., EvaluatorConfig], envs_dir: Path, tmp_path: Path, receiver: OtlpTraceReceiver
) -> None:
    async with loop_evaluator(make_config, envs_dir, receiver) as loop:
        v1, v2, requirements = write_versions(tmp_path / "scorers")
        for scorer, flags in ((v1, ()), (v2, ("--shadow", "--by", "bob"))):
            uploaded = await loop.cli("upload_scorer", str(scorer), str(requirements), *flags)
            assert uploaded.code == 0, uploaded.stderr
        for i, text in enumerate([WITH_TRACKING, WITHOUT_TRACKING, WITHOUT_TRACKING, WITH_TRACKING]):
            await send(loop, i + 1, text)
        state = loop.app.shared_state

        async def four_compared() -> bool:
            return (await state.compare_shadow(NAME, 2)).count >= 4

        async def four_kept() -> bool:
            return (await state.dataset(DATASET)).example_count >= 4 if await state.datasets() else False

        await until(four_compared, "4 shadow results")
        await until(four_kept, f"4 examples in {DATASET}")
        replay = await loop.cli("eval", "run", "--dataset", DATASET, "--scorer", f"{NAME}@2", "--json",
                                "--no-progress")
        assert replay.code == 0, replay.stderr
        report = json.loads(replay.stdout)
        assert (report["pass_rate"], report["baseline_pass_rate"]) == (0.5, 1.0)
        dataset_version = (await state.dataset(DATASET)).version
        [run] = await state.replay_runs(NAME)  # recorded server side, one row for the run
        assert (run.scorer_version, run.scorer_source, run.dataset) == (2, "uploaded", DATASET)
        assert (run.cases, run.scored, run.passed, run.errors, run.calls) == (4, 4, 2, 0, 1)
        assert (run.production_cases, run.production_passed) == (4, 4)
        assert (run.pass_to_fail, run.fail_to_pass, run.complete) == (2, 0, True)

        scorers = await loop.page("/scorers")
        # the pointer: v1 current, v2 in shadow (by bob)
        assert "<td>v1</td>" in scorers and "v2 <small>since" in scorers and "by bob" in scorers
        # the comparison `judgeval scorers compare` shows: 4 results, 100% vs 50%, agreement 2 of 4, -0.5
        comparison = scorers.split('class="shadow-comparisons"')[1].split("</table>")[0]
        assert 'v2 <span class="tag">running</span>' in comparison
        for cell in ('<td class="num">4</td>', "100.0%", "50.0%", "50.0% <small>(2 of 4)</small>", "-0.500",
                     '<td class="num">2</td>'):
            assert cell in comparison, cell
        changed = scorers.split('class="changed-cases"')[1].split("</table>")[0]
        for byte in (2, 3):  # the two answers without a tracking number, linked to their traces
            trace = bytes([byte]).hex() * 16
            assert f"http://jaeger.test:16686/trace/{trace}?uiFind={'02' * 8}" in changed
        assert "v2: no tracking number" in changed and "<strong>fail</strong>" in changed
        runs = scorers.split('class="replay-runs"')[1].split("</table>")[0]
        assert f"{DATASET}@{dataset_version}" in runs and f'/scorers/{quote(NAME)}/2">v2</a>' in runs
        for cell in ("50.0%", "100.0%", "complete", '<td class="num">4</td>'):
            assert cell in runs, cell

        promoted = await loop.cli("scorers", "promote", f"{NAME}@2", "--by", "alice")
        assert promoted.code == 0, promoted.stderr
        page = await loop.page(f"/scorers/{quote(NAME)}")
        promotions = page.split('class="promotions"')[1].split("</table>")[0]
        assert "<th scope=\"row\">v2</th><td>v1</td><td>alice</td>" in promotions
        versions = page.split('class="scorer-versions"')[1].split("</caption>")[1].split("</table>")[0]
        assert versions.index("v2</a>") < versions.index("<td>current</td>") < versions.index("v1</a>")
        assert "v2 (stopped)" in page  # the comparison stays readable after the shadow ended
        assert f"{DATASET}@{dataset_version}" in page and "v2: no tracking number" in page
        assert (await loop.console.get("/scorers/no%20such%20scorer")).status == 404


async def test_a_replay_cut_short_is_listed_incomplete_and_client_records_without_a_dataset(
    make_config: Callable[..., EvaluatorConfig], envs_dir: Path, tmp_path: Path, receiver: OtlpTraceReceiver
) -> None:
    async with loop_evaluator(make_config, envs_dir, receiver) as loop:
        # A client that announced three cases and sent one call of one case, then went away.
        case = pb.EvaluationCase(id="only", example_json=json.dumps({"actual_output": "refund issued"}),
                                 threshold=0.5, production_passed=False)
        request = pb.RunEvaluationRequest(scorer="keyword", scorer_config_json='{"keywords": ["refund"]}',
                                          cases=[case], run_id="cut-short", run_cases=3)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{loop.app.port}") as channel:
            events = [e async for e in pb_grpc.EvaluationStub(channel).RunEvaluation(
                request, metadata=(("authorization", f"Bearer {KEY}"),))]
        assert events[-1].finished.scored == 1
        [run] = await loop.app.shared_state.replay_runs()
        assert (run.cases, run.planned_cases, run.fail_to_pass, run.scorer_source) == (1, 3, 1, "builtin")
        page = await loop.page("/scorers")
        runs = page.split('class="replay-runs"')[1].split("</table>")[0]
        assert '<span class="tag">incomplete</span> 1 of 3 cases' in runs
        assert "records sent by the client" in runs
        scorer_page = await loop.page("/scorers/keyword")  # a built-in scorer's page: its replays
        assert "1 of 3 cases" in scorer_page and "Versions" not in scorer_page
