"""Each claim of the sandbox README's "what is enforced" table, attacked by a hostile uploaded scorer
through the real upload path (registry) and the real sandbox (bubblewrap, seccomp, cgroups, egress proxy).

Needs root (cgroups, per-worker uids) and bubblewrap (scripts/ensure-sandbox-tools); CI has both.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from judgeval import semconv
from judgeval.protocol.evaluation_request import EvaluationRequest, ScorerRef
from judgeval.testing import RecordedOpenAIServer, Recording
from judgeval.testing.otlp_receiver import OtlpTraceReceiver
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from evaluator_service.metrics import EvaluatorMetrics
from evaluator_service.registry import Registry
from evaluator_service.sandbox import SandboxConfig, SandboxLimits, SandboxPool, UploadedScorerSource
from evaluator_service.scoring.contract import ScoreOutcome, ScorerCrashedError
from tests.support.evaluator import metric_points
from tests.support.polling import eventually_async

from .admin_server import SCORERS

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="cgroups and per-worker uids need a root evaluator "
                                                  "(CI runs as root)"),
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap missing: run "
                                                             "scripts/ensure-sandbox-tools"),
]
BREAKOUT = SCORERS / "breakout_scorers.py"
HOSTILE = SCORERS / "hostile_scorers.py"
LIMITS = SandboxLimits(wall_timeout_s=20, startup_timeout_s=30, memory_bytes=256 * 1024 * 1024,
                       max_processes=32, cpu_seconds=20)


@pytest.fixture
async def pool() -> AsyncIterator[SandboxPool]:
    sandbox = SandboxPool(SandboxConfig(limits=LIMITS, workers_per_scorer=1))
    yield sandbox
    await sandbox.close()


async def upload(registry: Registry, class_name: str, path: Path = BREAKOUT) -> str:
    stored = await registry.upload(name=class_name, source=path.read_text(), source_filename=path.name,
                                   requirements="", class_name=class_name)
    return stored.name


async def score(pool: SandboxPool, registry: Registry, name: str, **config: object) -> ScoreOutcome:
    ref = ScorerRef(name=name, config=dict(config))
    scorer = UploadedScorerSource(registry, pool).resolve(ref)
    assert scorer is not None
    request = EvaluationRequest(scorer=ref, example={"request": "q", "response": "fine"})
    return await scorer.score(request.example, request)


async def report(pool: SandboxPool, registry: Registry, class_name: str, **config: object) -> dict:
    outcome = await score(pool, registry, await upload(registry, class_name), **config)
    return json.loads(outcome.reason or "{}")


async def test_writes_to_run_lock_and_host_paths_fail_and_leave_nothing(
    pool: SandboxPool, registry: Registry, tmp_path: Path
) -> None:
    marker = f"judgeval-pwned-{uuid.uuid4().hex}"
    targets = [f"/run/lock/{marker}", f"/run/{marker}", f"/tmp/{marker}", f"/var/tmp/{marker}",
               f"/usr/{marker}", str(tmp_path / marker), str(registry.data_dir / marker),
               str(Path(__file__).with_name(marker)), f"/dev/shm/{marker}"]
    outcome = await score(pool, registry, await upload(registry, "EscapeScorer", HOSTILE), targets=targets)
    seen = json.loads(outcome.reason or "{}")
    assert [t for t in targets if os.path.exists(t)] == []  # nothing reached the host
    assert seen[f"/run/lock/{marker}"].startswith("denied")  # a private, empty /run
    assert seen[f"/usr/{marker}"].startswith("denied")  # read-only binds
    assert seen[str(tmp_path / marker)].startswith("denied")  # host paths are not even there


async def test_namespaces_mounts_and_ptrace_are_refused(pool: SandboxPool, registry: Registry) -> None:
    seen = await report(pool, registry, "NamespaceScorer")
    assert seen["unshare_user"] in ("EPERM", "ENOSPC"), seen
    for attempt in ("unshare_mount", "unshare_net", "mount_tmpfs", "ptrace_traceme"):
        assert seen[attempt] == "EPERM", (attempt, seen)
    assert seen["capabilities"] == "0000000000000000"
    assert seen["uid"] != 0 and seen["fork_status"] == 7  # plain forks still work


async def test_a_forking_scorer_is_killed_at_the_memory_limit_of_its_tree(
    pool: SandboxPool, registry: Registry
) -> None:
    assert pool.prepare().cgroups is not None, "this host should offer cgroups to root"
    name = await upload(registry, "ForkingMemoryScorer")
    try:  # 8 x 120 MiB, each under the 256 MiB per-process limit, the tree far over it
        outcome = await score(pool, registry, name, children=8, mb=120)
    except ScorerCrashedError as exc:  # the OOM killer may pick the worker itself
        assert "SIGKILL" in str(exc)
        return
    statuses = json.loads(outcome.reason or "{}")["statuses"]
    assert -9 in statuses, statuses


async def test_zombies_of_one_scorer_do_not_stop_others_from_starting(
    pool: SandboxPool, registry: Registry
) -> None:
    zombies = await report(pool, registry, "ZombieScorer")
    assert zombies["fork_failure"] == "EAGAIN" and zombies["zombies"] < LIMITS.max_processes, zombies
    assert pool.idle_workers() == 1  # the zombie holder lives on, holding its whole process budget
    good = await upload(registry, "GoodScorer", HOSTILE)
    assert await score(pool, registry, good) == ScoreOutcome(0.75, "saw 'fine'")
    threaded = await score(pool, registry, await upload(registry, "ThreadedScorer"))
    assert threaded.reason == "16 threads ran"


async def test_a_running_fork_bomb_does_not_stop_others_from_starting(
    pool: SandboxPool, registry: Registry
) -> None:
    bomb = asyncio.create_task(score(pool, registry, await upload(registry, "ForkBombScorer", HOSTILE)))
    await eventually_async(lambda: len(_processes_running("ForkBombScorer")) >= LIMITS.max_processes // 2,
                           "the fork bomb did not get going", timeout=30)
    good = await upload(registry, "GoodScorer", HOSTILE)
    assert await score(pool, registry, good) == ScoreOutcome(0.75, "saw 'fine'")
    threaded = await score(pool, registry, await upload(registry, "ThreadedScorer"))
    assert threaded.reason == "16 threads ran"
    assert not bomb.done()  # all of that while the bomb was still at its limit
    bomb.cancel()
    with contextlib.suppress(asyncio.CancelledError, ScorerCrashedError):
        await bomb


def _processes_running(class_name: str) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            if class_name in cmdline.read_text():
                found.append(cmdline.parent.name)
    return found


async def test_the_otlp_port_and_other_local_servers_are_unreachable(
    pool: SandboxPool, registry: Registry
) -> None:
    reader = InMemoryMetricReader()
    pool.report_egress_to(EvaluatorMetrics.create(None, [reader]).sandbox_llm_call)
    receiver = OtlpTraceReceiver().start()
    server = socket.create_server(("127.0.0.1", 0))
    try:
        targets = [receiver.endpoint, f"127.0.0.1:{server.getsockname()[1]}"]
        seen = await report(pool, registry, "EgressScorer", targets=targets)
    finally:
        server.close()
        receiver.stop()
    for target in targets:
        assert seen[target]["direct"] == "failed: ECONNREFUSED", seen  # its own, empty network
        assert seen[target]["proxied"].startswith("status 403"), seen
        assert f"egress to {target} is not allowed" in seen[target]["proxied"]
    assert receiver.requests == []
    assert pool.egress_counts[("EgressScorer", "refused")] == 2
    [point] = metric_points(reader)[semconv.METRIC_SANDBOX_LLM_CALLS]
    assert (dict(point.attributes), point.value) == ({"scorer": "EgressScorer", "outcome": "refused"}, 2)


async def test_the_allowed_llm_endpoint_is_reached_through_the_proxy_and_counted(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    with RecordedOpenAIServer([Recording(answer="YES")]) as judge:
        monkeypatch.setenv("OPENAI_BASE_URL", judge.base_url)  # the default allowlist: the judge endpoint
        limits = replace(LIMITS, llm_calls_per_request=2)
        sandbox = SandboxPool(SandboxConfig(limits=limits, workers_per_scorer=1))
        try:
            target = f"127.0.0.1:{judge.port}"
            seen = await report(sandbox, registry, "EgressScorer", targets=[target, target, target])
        finally:
            await sandbox.close()
    assert seen[target]["direct"] == "failed: ECONNREFUSED"
    # three calls, a budget of two per scored request: the third is refused and counted as "limit"
    assert sandbox.egress_counts[("EgressScorer", "allowed")] == 2
    assert sandbox.egress_counts[("EgressScorer", "limit")] == 1
    assert seen[target]["proxied"].startswith("status 429") and "LLM call limit" in seen[target]["proxied"]


async def test_proc_1_cmdline_shows_no_data_dir_path(pool: SandboxPool, registry: Registry) -> None:
    seen = await report(pool, registry, "CmdlineScorer")
    text = json.dumps(seen)
    assert str(registry.data_dir) not in text and str(registry.data_dir.parent) not in text
    assert seen["cmdlines"]["1"][:3] == ["bwrap", "--args", seen["cmdlines"]["1"][2]]
    assert seen["cwd"] == "/scorer" and "breakout_scorers.py" in seen["files"]  # in a tmpfs, no host dir
