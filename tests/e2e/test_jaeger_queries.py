"""README's Jaeger queries for failing spans and for scoring errors, run against the real Jaeger binary
holding spans a real evaluator scored through the real collector: the HTTP API behind the UI's search
(``/api/traces`` with ``service`` and JSON ``tags``) finds a failing span and a span its scorer could not
judge with different queries, each only its own. The HTTP API v3 (``/api/v3/traces`` with
``query.service_name``) finds a service's traces but ignores ``query.attributes``: pinned here, as README
says.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from judgeval import semconv
from judgeval.protocol.evaluation_request import EvaluationRequest, ScorerRef

from tools.localstack.binaries import OtelBinaries
from tools.localstack.procs import free_endpoint
from tools.localstack.runner import StackEnv, start_evaluator
from tools.localstack.stack import JaegerInstance, start_collector

from .jaeger_grpc import find_trace_ids
from .traffic import SERVICE, Traffic, fetch_all

FAILING = {semconv.JUDGEVAL_EVAL_VERDICT: semconv.EvalVerdict.FAIL.value}
"""README's tags for failing spans: at least one score missed its threshold."""
SCORING_ERRORS = {semconv.JUDGEVAL_EVAL_VERDICT: semconv.EvalVerdict.ERROR.value}
"""README's tags for spans the scorers could not judge (no failing score, at least one error)."""


def get(url: str) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return json.load(answer)
    except urllib.error.HTTPError as error:  # Jaeger says why in the body
        raise AssertionError(f"{url}: {error.code} {error.read().decode(errors='replace')}") from None


def v2_trace_ids(base_url: str, tags: dict[str, str]) -> set[str]:
    """``GET /api/traces?service=...&tags={...}`` (the service is required, tags are one JSON object)."""
    params = urllib.parse.urlencode(
        {"service": SERVICE, "tags": json.dumps(tags), "lookback": "1h", "limit": "100"}
    )
    return {trace["traceID"] for trace in get(f"{base_url}/api/traces?{params}")["data"]}


def v3_trace_ids(base_url: str, tags: dict[str, str]) -> set[str]:
    """``GET /api/v3/traces?query.service_name=...&query.attributes={...}`` (a time range and a number of
    traces are required)."""
    now = datetime.now(UTC)
    params = urllib.parse.urlencode({
        "query.service_name": SERVICE,
        "query.attributes": json.dumps(tags),
        "query.start_time_min": (now - timedelta(hours=1)).isoformat().replace("+00:00", "Z"),
        "query.start_time_max": (now + timedelta(minutes=1)).isoformat().replace("+00:00", "Z"),
        "query.num_traces": "100",
    })
    document = get(f"{base_url}/api/v3/traces?{params}")
    return {
        span["traceId"]
        for resource_spans in document["result"]["resourceSpans"]
        for scope_spans in resource_spans["scopeSpans"]
        for span in scope_spans["spans"]
    }


@pytest.mark.timeout(300)
def test_failing_spans_and_scoring_errors_are_found_apart_in_jaeger(
    otel_binaries: OtelBinaries, jaeger: JaegerInstance, stack_env: StackEnv
) -> None:
    evaluator_endpoint = free_endpoint()
    with start_collector(
        otel_binaries.otelcol, stack_env.work_dir / "otelcol", evaluator_endpoint, jaeger.otlp_grpc_endpoint
    ) as collector, start_evaluator(stack_env, evaluator_endpoint, collector.grpc_endpoint):
        traffic = Traffic(collector.grpc_endpoint)
        traffic.send(2)  # the first answer is clean (pii passes), the second leaks an address (fails)
        unjudgeable = EvaluationRequest(ScorerRef(name="no-such-scorer"), example={"actual_output": "hi"})
        traffic.send(1, request=unjudgeable)
        traffic.close()
        fetch_all(jaeger.query, traffic)
    passing, failing, errored = traffic.trace_ids

    assert v2_trace_ids(jaeger.query_url, FAILING) == {failing}
    assert v2_trace_ids(jaeger.query_url, SCORING_ERRORS) == {errored}
    # An error never claims a failure: success=false finds the failing span only.
    assert v2_trace_ids(jaeger.query_url, {semconv.JUDGEVAL_EVAL_SUCCESS: "false"}) == {failing}
    no_score = {semconv.JUDGEVAL_EVAL_STATUS: semconv.EvalStatus.FAILED.value}
    assert v2_trace_ids(jaeger.query_url, no_score) == {errored}
    # The API v3 over gRPC filters by attributes the same way.
    now = datetime.now(UTC)
    window = (now - timedelta(hours=1), now + timedelta(minutes=1))
    grpc_endpoint = jaeger.query_grpc_endpoint
    assert find_trace_ids(grpc_endpoint, SERVICE, FAILING, *window) == {failing}
    assert find_trace_ids(grpc_endpoint, SERVICE, SCORING_ERRORS, *window) == {errored}
    # The v3 HTTP API finds the service's traces but ignores query.attributes (Jaeger v1.75's HTTP gateway
    # never reads it), as README says: when this fails, Jaeger filters there too and README can say so.
    assert v3_trace_ids(jaeger.query_url, FAILING) == {passing, failing, errored}
    assert v3_trace_ids(jaeger.query_url, {}) == {passing, failing, errored}
