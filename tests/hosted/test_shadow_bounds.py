"""The shadow sink's bounds: it returns at once, queues at most ``max_queue`` jobs, and counts every
interaction it does not score (overload, pinned requests, trajectories, paused scorers) in the metric,
by scorer and outcome. A state database that refuses results keeps them (bounded) until it is back.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from judgeval import semconv
from judgeval.protocol.interaction_record import InteractionRecord
from judgeval.protocol.sampling import is_sampled
from judgeval.semconv import ShadowOutcome
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from evaluator_service.metrics import EvaluatorMetrics
from evaluator_service.registry import EnvironmentInstaller, Registry, UploadMode
from evaluator_service.sandbox.pool import SandboxPool
from evaluator_service.sandbox.uploaded_source import UploadedScorerSource
from evaluator_service.shadow.scoring import ShadowScoring
from evaluator_service.shadow.settings import ShadowConfig
from evaluator_service.state import StateUnavailable
from evaluator_service.state.shadow_rows import ShadowResult
from tests.support.evaluator import metric_points

from .admin_server import DOCS_REQUIREMENTS

DOCS_SCORER = Path(__file__).parents[2] / "examples" / "customer_service" / "customer_service_scorer.py"
NAME = "Package Inquiry Scorer"


@pytest.fixture
async def registry(tmp_path: Path, envs_dir: Path) -> AsyncIterator[Registry]:
    installer = EnvironmentInstaller(envs_dir, pip_args=("--no-index",), pip_timeout_s=120)
    registry = Registry(tmp_path / "data", installer=installer)
    await registry.start()
    source = DOCS_SCORER.read_text()
    for tag, mode, shadow in (("v1", UploadMode.CREATE, False), ("v2", UploadMode.NEW_VERSION, True)):
        await registry.upload(name="", source=f"{source}\n# {tag}\n", source_filename=DOCS_SCORER.name,
                              requirements=DOCS_REQUIREMENTS, mode=mode, shadow=shadow, by="test")
    yield registry
    await registry.close()


def record(trace: int, **changes: object) -> InteractionRecord:
    values: dict[str, object] = {
        "scorer": NAME, "trace_id": f"{trace:032x}", "span_id": "0" * 16, "at": 1.0,
        "example": {"request": "r", "response": "s"}, "threshold": 0.5, "score": 1.0, "passed": True}
    return InteractionRecord(**{**values, **changes})  # type: ignore[arg-type]


async def test_overload_and_skips_are_counted_never_silent(registry: Registry) -> None:
    reader = InMemoryMetricReader()
    metrics = EvaluatorMetrics(MeterProvider(metric_readers=[reader]))
    source = UploadedScorerSource(registry, SandboxPool())
    shadow = ShadowScoring(source, registry.state, ShadowConfig(max_queue=2), metrics)  # not started
    shadow.observe([record(i) for i in range(5)])
    shadow.observe([
        record(10, scorer_version=2),  # pinned to the shadow version: not a production result of v1
        record(11, scope=semconv.TrajectoryScope.TRACE.value, example={}),
        record(12, score=None, passed=None, error_kind="paused", reason="scorer is paused"),
        record(13, scorer="Some Other Scorer"),  # no shadow: none of the shadow's business
        record(14, scorer_version=1),  # pinned to the current version: compared like unpinned ones
    ])
    assert shadow.queued == 2
    assert dict(shadow.counters.counts) == {
        (NAME, ShadowOutcome.SKIPPED_OVERLOAD): 4, (NAME, ShadowOutcome.SKIPPED_PINNED): 1,
        (NAME, ShadowOutcome.SKIPPED_SCOPE): 1, (NAME, ShadowOutcome.SKIPPED_PAUSED): 1}
    await shadow.stop()  # the two queued jobs are given up, and counted
    assert shadow.queued == 0 and shadow.counters.counts[(NAME, ShadowOutcome.SKIPPED_SHUTDOWN)] == 2
    points = metric_points(reader)[semconv.METRIC_SHADOW_OUTCOMES]
    by_outcome = {p.attributes[semconv.SCORE_METRIC_LABEL_OUTCOME]: p.value for p in points}
    assert by_outcome == {"skipped_overload": 4, "skipped_pinned": 1, "skipped_scope": 1, "skipped_paused": 1,
                          "skipped_shutdown": 2}
    assert {p.attributes[semconv.SCORE_METRIC_LABEL_SCORER] for p in points} == {NAME}


async def test_sample_rate_picks_traces_deterministically_and_counts_the_rest(registry: Registry) -> None:
    source = UploadedScorerSource(registry, SandboxPool())
    shadow = ShadowScoring(source, registry.state, ShadowConfig(sample_rate=0.25, max_queue=1000))
    # trace ids as OpenTelemetry makes them: random (sampling reads their low 56 bits)
    records = [record(int.from_bytes(hashlib.sha256(b"%d" % i).digest()[:16])) for i in range(400)]
    shadow.observe(records)
    expected = sum(is_sampled(int(r.trace_id, 16), 0.25) for r in records)
    assert shadow.queued == expected and 60 < expected < 140  # about a quarter, the SDK's rule
    assert shadow.counters.counts[(NAME, ShadowOutcome.SKIPPED_SAMPLED)] == 400 - expected


class RefusingState:
    """A state database that is down until ``up`` is set, then keeps what it is given."""

    def __init__(self) -> None:
        self.up = False
        self.stored: list[ShadowResult] = []

    async def store_shadow_results(self, results: list[ShadowResult]) -> None:
        if not self.up:
            raise StateUnavailable("state database sqlite:///x: disk I/O error")
        self.stored += results


def shadow_result(trace: int) -> ShadowResult:
    return ShadowResult(record_id=f"{trace}", scorer=NAME, trace_id=f"{trace:032x}", span_id="0" * 16,
                        current_version=1, shadow_version=2, current_score=1.0, current_passed=True,
                        current_reason="", shadow_score=0.0, shadow_passed=False, shadow_reason="", at=1.0)


async def test_results_wait_for_the_database_bounded_and_counted(registry: Registry) -> None:
    state = RefusingState()
    source = UploadedScorerSource(registry, SandboxPool())
    shadow = ShadowScoring(source, state, ShadowConfig(max_queue=3))  # type: ignore[arg-type]
    shadow._pending = [shadow_result(i) for i in range(5)]
    await shadow.stop()  # the final flush fails: the newest 3 are kept, 2 counted as not stored
    assert shadow.counters.counts[(NAME, ShadowOutcome.NOT_STORED)] == 2
    state.up = True
    await shadow.stop()
    assert [r.record_id for r in state.stored] == ["2", "3", "4"]
