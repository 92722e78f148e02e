"""Several requests in flight on one sandbox worker: concurrency, isolation between the requests of a
batch, and what happens to the other requests when one times out, is cancelled or kills its worker.

Workers are real confined processes (like test_sandbox); ``WORKER_TOKEN`` in a scorer's reason tells
which worker process answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
from judgeval.protocol.evaluation_request import EvaluationRequest, ScorerRef

from evaluator_service.registry import Registry
from evaluator_service.sandbox import SandboxConfig, SandboxLimits, SandboxPool, UploadedScorerSource
from evaluator_service.sandbox.uploaded_source import program_key
from evaluator_service.sandbox.worker_handle import ScorerProgram
from evaluator_service.scoring.contract import ScorerCrashedError, TransientScorerError

from .admin_server import SCORERS

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the full sandbox needs a root evaluator")
SCORER_FILE = SCORERS / "pipelined_scorers.py"
LIMITS = SandboxLimits(wall_timeout_s=20, startup_timeout_s=30, memory_bytes=256 * 1024 * 1024,
                       file_size_bytes=8 * 1024 * 1024, max_processes=32, cpu_seconds=10)


@pytest.fixture
async def one_worker() -> AsyncIterator[SandboxPool]:
    pool = SandboxPool(SandboxConfig(limits=LIMITS, workers_per_scorer=1, worker_concurrency=8))
    yield pool
    await pool.close()


async def upload(registry: Registry, class_name: str) -> str:
    stored = await registry.upload(name=class_name, source=SCORER_FILE.read_text(),
                                   source_filename=SCORER_FILE.name, requirements="", class_name=class_name)
    return stored.name


async def score(source: UploadedScorerSource, name: str, response: str, **config: Any) -> Any:
    ref = ScorerRef(name=name, config=dict(config))
    scorer = source.resolve(ref)
    assert scorer is not None
    request = EvaluationRequest(scorer=ref, example={"request": "q", "response": response})
    return await scorer.score(request.example, request)


async def score_retrying(source: UploadedScorerSource, name: str, response: str) -> Any:
    """Like the evaluator's runner: retry what the sandbox calls transient."""
    for _ in range(3):
        with contextlib.suppress(TransientScorerError):
            return await score(source, name, response)
    return await score(source, name, response)


async def test_requests_on_one_worker_are_scored_concurrently(
    registry: Registry, one_worker: SandboxPool
) -> None:
    source = UploadedScorerSource(registry, one_worker)
    name = await upload(registry, "RendezvousScorer")
    outcomes = await asyncio.gather(*(score(source, name, str(i), expected=4) for i in range(4)))
    assert {o.reason.split(" in ")[0] for o in outcomes} == {"4 together"}  # all waited for each other
    assert len({o.reason.split(" in ")[1] for o in outcomes}) == 1  # in one worker process
    assert one_worker.idle_workers() == 1


async def test_a_failing_request_does_not_fail_its_batch(registry: Registry, one_worker: SandboxPool) -> None:
    source = UploadedScorerSource(registry, one_worker)
    name = await upload(registry, "ModalScorer")
    results = await asyncio.gather(*(score(source, name, r) for r in ("quick", "bad", "quick", "quick")),
                                   return_exceptions=True)
    assert isinstance(results[1], ScorerCrashedError) and "this example is bad" in str(results[1])
    good = [r for i, r in enumerate(results) if i != 1]
    assert [r.value for r in good] == [1.0, 1.0, 1.0] and len({r.reason for r in good}) == 1


async def test_each_request_captures_only_its_own_output(registry: Registry, one_worker: SandboxPool) -> None:
    stored = registry.get(await upload(registry, "ChattyScorer"))
    program = ScorerProgram(key=program_key(stored), python=await registry.ensure_environment(stored),
                            source=await registry.read_source(stored), module_file=stored.source_filename,
                            class_name=stored.class_name)
    requests = [{"example": {"request": "q", "response": f"r{i}"}, "config": {}, "threshold": 0.5}
                for i in range(3)]
    answers = await asyncio.gather(*(one_worker.run(program, r) for r in requests))
    assert [a["output"] for a in answers] == [f"start r{i}\nend r{i}\n" for i in range(3)]


async def test_a_stuck_request_fails_alone_and_its_neighbours_are_retryable(registry: Registry) -> None:
    pool = SandboxPool(SandboxConfig(limits=replace(LIMITS, wall_timeout_s=2), workers_per_scorer=1))
    source = UploadedScorerSource(registry, pool)
    try:
        name = await upload(registry, "ModalScorer")
        before = (await score(source, name, "quick")).reason
        stuck = asyncio.create_task(score(source, name, "block"))
        await asyncio.sleep(0.5)  # the neighbour is sent later, so only the stuck one is past its deadline
        neighbour = asyncio.create_task(score(source, name, "sleep"))
        with pytest.raises(ScorerCrashedError, match="timed out after 2 s"):
            await stuck
        with pytest.raises(TransientScorerError, match="did not fail by itself"):
            await neighbour
        assert (await score(source, name, "quick")).reason != before  # a fresh worker
    finally:
        await pool.close()


async def test_cancelled_requests_stop_in_the_worker_or_the_worker_is_killed(
    registry: Registry, one_worker: SandboxPool
) -> None:
    source = UploadedScorerSource(registry, one_worker)
    name = await upload(registry, "ModalScorer")
    first = (await score(source, name, "quick")).reason
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(score(source, name, "sleep"), 0.5)
    assert (await score(source, name, "quick")).reason == first  # cancelled inside; the worker lives on
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(score(source, name, "block"), 0.5)
    # It cannot stop, so it is killed after the grace; a request sent to it meanwhile is interrupted
    # (retryable, as the runner does), and the retry lands on a fresh worker.
    assert (await score_retrying(source, name, "quick")).reason != first


async def test_a_worker_that_dies_fails_every_request_it_held(
    registry: Registry, one_worker: SandboxPool
) -> None:
    source = UploadedScorerSource(registry, one_worker)
    name = await upload(registry, "ModalScorer")
    results = await asyncio.gather(score(source, name, "sleep"), score(source, name, "abort"),
                                   return_exceptions=True)
    for result in results:
        assert isinstance(result, ScorerCrashedError) and "signal SIGABRT" in str(result)
    assert (await score(source, name, "quick")).value == 1.0


async def test_memory_error_retires_the_worker(registry: Registry, one_worker: SandboxPool) -> None:
    source = UploadedScorerSource(registry, one_worker)
    name = await upload(registry, "ModalScorer")
    first = (await score(source, name, "quick")).reason
    with pytest.raises(ScorerCrashedError, match="MemoryError"):
        await score(source, name, "hog")
    assert (await score(source, name, "quick")).reason != first


@pytest.mark.parametrize("workers", [1, 2])
async def test_workers_are_replaced_after_max_requests(registry: Registry, workers: int) -> None:
    limits = replace(LIMITS, max_requests_per_worker=3)
    pool = SandboxPool(SandboxConfig(limits=limits, workers_per_scorer=workers))
    source = UploadedScorerSource(registry, pool)
    try:
        name = await upload(registry, "ModalScorer")
        sequential = [(await score(source, name, "quick")).reason for _ in range(7)]
        concurrent = await asyncio.gather(*(score(source, name, "quick") for _ in range(7)))
    finally:
        await pool.close()
    tokens = Counter([*sequential, *(o.reason for o in concurrent)])
    assert max(tokens.values()) <= 3 and len(tokens) >= 5
    assert len(set(sequential)) == 3  # 3 + 3 + 1
