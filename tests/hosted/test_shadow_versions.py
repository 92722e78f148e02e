"""Scorer versions in shadow through the real pipeline: a real evaluator with the sandbox, uploads and
commands through the ``judgeval`` CLI, tagged spans over OTLP/gRPC, enriched spans received downstream.

Version 1 passes a reply that mentions shipping; version 2 (uploaded ``--shadow``) also wants a tracking
number. Spans carry version 1's verdicts only, the shadow table has version 2's, ``compare`` lists the
changed cases with both reasons, and ``promote`` switches what production runs: on the replica promoted
through, and on a second replica sharing the PostgreSQL state.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from judgeval import semconv
from judgeval.semconv import ShadowOutcome
from judgeval.testing.otlp_receiver import OtlpTraceReceiver, ReceivedSpan
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

from evaluator_service.admin import HostedScorers
from evaluator_service.app import EvaluatorApp
from evaluator_service.config import load_config
from evaluator_service.sandbox import SandboxConfig, SandboxLimits
from evaluator_service.shadow.scoring import ShadowScoring
from evaluator_service.state import SharedState, open_shared_state
from tests.support.cli import CliResult, run_cli
from tests.support.polling import eventually_async
from tests.support.postgres_cluster import PostgresCluster
from tests.support.shadow_versions import (
    NAME,
    REASON,
    VALUE,
    WITH_TRACKING,
    WITHOUT_TRACKING,
    tagged_span,
    write_versions,
)

from .admin_server import API_KEY

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the full sandbox needs a root evaluator")


@dataclass
class Replica:
    app: EvaluatorApp
    hosted: HostedScorers
    shadow: ShadowScoring
    downstream: OtlpTraceReceiver

    @property
    def env(self) -> dict[str, str]:
        return {"JUDGMENT_API_URL": f"127.0.0.1:{self.app.port}", "JUDGMENT_API_KEY": API_KEY}

    async def cli(self, *args: str) -> CliResult:
        return await run_cli(*args, env=self.env)

    async def send(self, trace_byte: int, response: str) -> ReceivedSpan:
        """Export one tagged span and wait for it downstream, enriched."""
        trace_id = bytes([trace_byte]) * 16
        async with grpc.aio.insecure_channel(f"127.0.0.1:{self.app.port}") as channel:
            stub = trace_service_pb2_grpc.TraceServiceStub(channel)
            await stub.Export(tagged_span(trace_id, response), timeout=10)
        spans = await asyncio.to_thread(
            self.downstream.wait_for, lambda s: any(x.trace_id == trace_id.hex() for x in s), 60)
        return next(s for s in spans if s.trace_id == trace_id.hex())


@asynccontextmanager
async def replica(data_dir: Path, envs_dir: Path, state: SharedState | None = None
                  ) -> AsyncIterator[Replica]:
    with OtlpTraceReceiver() as downstream:
        config = load_config(listen="127.0.0.1:0", export_endpoint=downstream.endpoint,
                             data_dir=str(data_dir), api_key=API_KEY, environ={})
        hosted = HostedScorers.create(config.data_dir, config.api_key,
                                      SandboxConfig(limits=SandboxLimits(wall_timeout_s=20)),
                                      envs_dir=envs_dir, pip_args=("--no-index",), state=state)
        app = EvaluatorApp(config, scorer_sources=[hosted.source], service_installers=[hosted.install],
                           shared_state=state)
        shadow = hosted.shadow_scoring(config.shadow, app.metrics)
        app.interactions.sinks.append(shadow.observe)
        await app.start()
        shadow.start()
        try:
            yield Replica(app, hosted, shadow, downstream)
        finally:
            await shadow.stop()
            await app.stop(grace=2.0)
            await hosted.close()


async def upload_both(tmp_path: Path, first: Replica) -> None:
    v1, v2, requirements = write_versions(tmp_path / "scorers")
    for scorer, flags in ((v1, ()), (v2, ("--shadow",))):
        uploaded = await first.cli("upload_scorer", str(scorer), str(requirements), *flags)
        assert uploaded.code == 0, uploaded.stderr
    assert "Version 2 runs in shadow" in uploaded.stdout


async def compared(replica_: Replica, count: int) -> dict[str, object]:
    """``judgeval scorers compare --json`` once ``count`` shadow results are stored."""
    deadline = time.monotonic() + 60
    while True:
        result = await replica_.cli("scorers", "compare", NAME, "--json")
        if result.code == 0 and json.loads(result.stdout)["count"] >= count:
            return dict(json.loads(result.stdout))
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within 60s: {count} shadow results stored ({result})")
        await asyncio.sleep(0.2)


async def test_shadow_version_is_recorded_compared_and_promoted(tmp_path: Path, envs_dir: Path) -> None:
    async with replica(tmp_path / "data", envs_dir) as one:
        await upload_both(tmp_path, one)
        listed = await one.cli("scorers", "list")
        assert listed.code == 0, listed.stderr
        row = next(line.split() for line in listed.stdout.splitlines() if line.startswith(NAME))
        assert row[2:5] == ["1,2", "1", "2"]  # versions, current, shadow

        responses = [WITH_TRACKING, WITHOUT_TRACKING, WITHOUT_TRACKING, WITH_TRACKING]
        spans = [await one.send(i + 1, text) for i, text in enumerate(responses)]
        # Production ran version 1 only: every span passed with v1's reason, nothing of v2 on any span.
        assert [s.attributes.get(VALUE) for s in spans] == [1.0] * 4, spans[0].attributes
        assert {s.attributes[REASON] for s in spans} == {"v1: mentions shipping"}
        assert not any("v2" in str(v) for s in spans for v in s.attributes.values())

        comparison = await compared(one, 4)
        assert comparison["shadow_version"] == 2 and comparison["current_versions"] == [1]
        assert comparison["current"] == {"scored": 4, "passed": 4, "pass_rate": 1.0}
        assert comparison["shadow"] == {"scored": 4, "passed": 2, "pass_rate": 0.5}
        assert (comparison["agreement_rate"], comparison["mean_score_delta"]) == (0.5, -0.5)
        changed = comparison["changed"]
        assert isinstance(changed, list) and comparison["changed_count"] == 2
        assert sorted(c["trace_id"] for c in changed) == [bytes([2]).hex() * 16, bytes([3]).hex() * 16]
        assert {(c["current"]["reason"], c["shadow"]["reason"]) for c in changed} == {
            ("v1: mentions shipping", "v2: no tracking number")}
        assert all(c["record_id"] == f"{c['trace_id']}:{'02' * 8}:{NAME}" for c in changed)
        table = await one.cli("scorers", "compare", NAME)
        assert "changed cases      2" in table.stdout and "v2: no tracking number" in table.stdout
        gate = await one.cli("scorers", "compare", NAME, "--min-agreement", "0.9")  # a CI gate
        assert gate.code == 1 and "agreement 50.0% is below --min-agreement 90.0%" in gate.stderr
        assert (await one.cli("scorers", "compare", NAME, "--min-agreement", "0.5")).code == 0
        assert one.shadow.counters.counts[(NAME, ShadowOutcome.SCORED)] == 4
        promoted = await one.cli("scorers", "promote", f"{NAME}@2", "--by", "alice")
        assert promoted.code == 0, promoted.stderr
        assert "Promoted scorer 'Shipping Scorer' version 2 (was version 1)" in promoted.stdout
        after = await one.send(9, WITHOUT_TRACKING)
        assert (after.attributes[VALUE], after.attributes[REASON]) == (0.0, "v2: no tracking number")
        # The one production failure is grouped into a behavior; v2's two shadow failures never were.
        assert semconv.JUDGEVAL_BEHAVIOR_ID in after.attributes
        behaviors = await one.hosted.registry.state.behaviors()
        assert sum(b.member_count for b in behaviors if b.scorer == NAME) == 1
        listed = await one.cli("scorers", "list")
        row = next(line.split() for line in listed.stdout.splitlines() if line.startswith(NAME))
        assert row[2:5] == ["1,2", "2", "-"]  # promoting the shadow version ended its shadow


async def test_cli_refuses_unknown_versions_and_malformed_targets_clearly(
    tmp_path: Path, envs_dir: Path
) -> None:
    async with replica(tmp_path / "data", envs_dir) as one:
        await upload_both(tmp_path, one)
        unknown = await one.cli("scorers", "promote", f"{NAME}@9")
        assert unknown.code == 1 and "has no version 9 (versions: 1, 2)" in unknown.stderr
        assert "Traceback" not in unknown.stderr
        malformed = await one.cli("scorers", "promote", NAME)
        assert malformed.code == 2 and "NAME@VERSION" in malformed.stderr
        current = await one.cli("scorers", "shadow", f"{NAME}@1")
        assert current.code == 1 and "is its current version" in current.stderr
        nothing = await one.cli("scorers", "compare", NAME)
        assert nothing.code == 0 and "0 interaction(s)" in nothing.stdout  # shadowing, no traffic yet
        stopped = await one.cli("scorers", "shadow", NAME, "--stop")
        assert stopped.code == 0 and "version 1 is current" in stopped.stdout
        again = await one.cli("scorers", "shadow", NAME, "--stop")
        assert again.code == 1 and "has no version in shadow" in again.stderr
        no_results = await one.cli("scorers", "compare", NAME)
        assert no_results.code == 1 and "has no shadow results" in no_results.stderr


async def test_two_replicas_on_one_postgresql_see_the_shadow_and_the_promotion(
    tmp_path: Path, envs_dir: Path, postgres: PostgresCluster
) -> None:
    url = postgres.url(postgres.new_database())
    states = [open_shared_state(url), open_shared_state(url)]
    async with replica(tmp_path / "a", envs_dir, states[0]) as a, \
            replica(tmp_path / "b", envs_dir, states[1]) as b:
        await upload_both(tmp_path, a)
        registry_b = b.hosted.registry
        await eventually_async(lambda: registry_b.shadow(NAME) is not None, "B sees the shadow", timeout=20)
        span = await b.send(1, WITHOUT_TRACKING)  # scored on B: v1 in production, v2 in B's shadow
        assert span.attributes[REASON] == "v1: mentions shipping"
        comparison = await compared(a, 1)  # B's shadow result, read through A
        assert comparison["changed_count"] == 1
        promoted = await a.cli("scorers", "promote", f"{NAME}@2")
        assert promoted.code == 0, promoted.stderr

        def b_runs_v2() -> bool:
            found = registry_b.find(NAME)
            return found is not None and found.version == 2

        await eventually_async(b_runs_v2, "B follows the promotion", timeout=20)
        after = await b.send(2, WITHOUT_TRACKING)
        assert after.attributes[REASON] == "v2: no tracking number"
    for state in states:
        await state.close()
