"""Issue 18, defect 3: against a real gRPC downstream that takes at most 4 MiB (gRPC's default), big
batches are split to its limit, a span that can never fit is exported trimmed (or, if even that cannot
fit, dropped and counted), and none of them holds the ordinary spans behind it."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from judgeval import semconv
from judgeval.semconv import EvalStatus, ScoreField, score_attribute
from judgeval.testing.otlp_receiver import OtlpTraceReceiver, ReceivedSpan
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from evaluator_service.config_values import ConfigError
from evaluator_service.request_limits import TRIM_MARK, learned_limit
from tests.support.evaluator import export, metric_points, running, wait_drained, wait_for
from tests.support.spans import by_name, make_request, make_span, tagged_attributes

FOUR_MIB = 4 * 1024 * 1024
ORDINARY = 20


@pytest.fixture
def receiver() -> Iterator[OtlpTraceReceiver]:
    """The downstream, with gRPC's default 4 MiB receive limit (overrides the evaluator suite's 64 MiB)."""
    with OtlpTraceReceiver(max_message_bytes=FOUR_MIB) as downstream:
        yield downstream


def ordinary_spans() -> list[Any]:
    return [make_span(f"ordinary-{i}") for i in range(ORDINARY)]


def assert_ordinary_delivered(received: list[ReceivedSpan]) -> None:
    assert sorted(s.name for s in received if s.name.startswith("ordinary-")) == sorted(
        f"ordinary-{i}" for i in range(ORDINARY))


def dead_letters(reader: InMemoryMetricReader) -> dict[tuple[str, str], int]:
    points = metric_points(reader).get(semconv.METRIC_SPANS_DEAD_LETTERED, [])
    return {(p.attributes["stage"], p.attributes["outcome"]): p.value for p in points}


@pytest.mark.parametrize(
    "export_config",
    [{}, {"max_request_bytes": 64 * 1024 * 1024}],
    ids=["default limit", "limit learned from RESOURCE_EXHAUSTED"],
)
async def test_a_request_larger_than_the_downstream_takes_is_split(make_config, receiver, export_config):
    big = [make_span(f"big-{i}", {"payload": "x" * 100_000}) for i in range(52)]  # one 5.2 MB export
    config = make_config({"export": {"backoff_initial_s": 0.02, "backoff_max_s": 0.1, **export_config}})
    async with running(config) as app:
        await export(app, make_request(big))
        await export(app, make_request(ordinary_spans()))
        received = await wait_for(receiver, lambda s: len(s) == len(big) + ORDINARY)
        await wait_drained(app)
        limit = app.forwarder.max_request_bytes
    assert_ordinary_delivered(received)
    assert sorted(s.name for s in received if s.name.startswith("big-")) == sorted(s.name for s in big)
    assert all(s.attributes["payload"] == "x" * 100_000 for s in received if s.name.startswith("big-"))
    assert limit == FOUR_MIB


async def test_a_span_larger_than_the_downstream_takes_is_exported_trimmed(make_config, receiver):
    reader = InMemoryMetricReader()
    huge = make_span("huge", {"payload": "y" * 5_000_000, "small": "kept"})
    tagged = make_span("huge-tagged", {
        **tagged_attributes(("pii", {"actual_output": "clean"})), "prompt": "z" * 6_000_000})
    async with running(make_config(), metric_readers=[reader]) as app:
        await export(app, make_request([huge]))
        await export(app, make_request([tagged]))
        await export(app, make_request(ordinary_spans()))
        received = await wait_for(receiver, lambda s: len(s) == 2 + ORDINARY)
        await wait_drained(app)
        counted = dead_letters(reader)
    assert_ordinary_delivered(received)
    trimmed = by_name(received, "huge").attributes
    assert trimmed[semconv.JUDGEVAL_EVAL_TRIMMED] >= huge.ByteSize()  # as queued (intake may mark it)
    assert trimmed["payload"].startswith("yyy") and trimmed["payload"].endswith(TRIM_MARK)
    assert trimmed["small"] == "kept"
    scored = by_name(received, "huge-tagged").attributes
    assert scored[semconv.JUDGEVAL_EVAL_STATUS] == EvalStatus.SCORED
    assert scored[score_attribute("pii", ScoreField.VALUE)] == 1.0
    assert scored[semconv.JUDGEVAL_EVAL_TRIMMED] > FOUR_MIB
    assert counted == {("export", "trimmed"): 2}


async def test_a_span_that_cannot_fit_even_trimmed_is_dropped_counted_and_holds_nothing(
    make_config, receiver
):
    reader = InMemoryMetricReader()
    unfit = make_request([make_span("unfit")], resource_extra={"huge.resource": "r" * 5_000_000})
    async with running(make_config(), metric_readers=[reader]) as app:
        await export(app, unfit)
        await export(app, make_request(ordinary_spans()))
        received = await wait_for(receiver, lambda s: len(s) == ORDINARY)
        await wait_drained(app)
        counted = dead_letters(reader)
    assert_ordinary_delivered(received)
    assert counted == {("export", "dropped"): 1}


def test_the_request_limit_is_validated_and_learned_from_grpc_messages(make_config):
    with pytest.raises(ConfigError, match=r"export.max_request_bytes: must be <= 67108864"):
        make_config({"export": {"max_request_bytes": 128 * 1024 * 1024}})
    with pytest.raises(ConfigError, match=r"export.max_request_bytes: must be >= 65536"):
        make_config({"export": {"max_request_bytes": 1000}})
    detail = "grpc: received message larger than max (5452595 vs. 4194304)"
    assert learned_limit(detail, 5_452_595) == FOUR_MIB
    assert learned_limit("rate limited", 5_452_595) is None


async def test_a_tagged_span_just_under_the_intake_limit_is_scored_and_exported_within_the_send_limit(
    make_config, tmp_path
):
    with OtlpTraceReceiver() as downstream:  # takes 64 MiB, the evaluator's own send limit
        config = make_config({"export": {"max_request_bytes": 64 * 1024 * 1024}})
        config = dataclasses.replace(config, export_endpoint=downstream.endpoint)
        attributes = {**tagged_attributes(("pii", {"actual_output": "clean"})), "prompt": ""}
        request = make_request([make_span("near-limit", attributes)])
        prompt = request.resource_spans[0].scope_spans[0].spans[0].attributes[-1].value
        prompt.string_value = "p" * (64 * 1024 * 1024 - 200 - request.ByteSize())  # the request: 64 MiB - 200
        async with running(config) as app:
            await export(app, request)
            received = await wait_for(downstream, lambda s: len(s) == 1, timeout=60)
            await wait_drained(app)
    attrs = received[0].attributes
    assert attrs[semconv.JUDGEVAL_EVAL_STATUS] == EvalStatus.SCORED
    assert attrs[semconv.JUDGEVAL_EVAL_TRIMMED] > 64 * 1024 * 1024
    assert attrs["prompt"].endswith(TRIM_MARK)
