"""README's queries against the real Jaeger: failing scores and scoring errors are found apart.

The evaluator scores four spans (a pass, a failing score, a scoring error, a failing score beside an error)
and exports them to Jaeger; the Jaeger tag searches README documents (Search → Tags, the UI's
``/api/traces?service=...&tags={json}``) must each return exactly the spans they promise.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import yaml
from judgeval import semconv
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from evaluator_service.config import load_config
from tests.support.evaluator import export, running
from tests.support.polling import eventually
from tests.support.spans import make_request, make_span, tagged_attributes
from tools.localstack.stack import JaegerInstance

SERVICE = "verdict-queries"
POLITE = {"name": "polite", "type": "keyword", "options": {"keywords": ["thanks"]}}


def tag_search(jaeger: JaegerInstance, tags: dict[str, str]) -> set[str]:
    """Names of the spans matching a Jaeger UI tag search in this test's service."""
    params = urllib.parse.urlencode(
        {"service": SERVICE, "tags": json.dumps(tags), "lookback": "1h", "limit": "100"}
    )
    with urllib.request.urlopen(f"{jaeger.query_url}/api/traces?{params}", timeout=10) as response:
        document: dict[str, Any] = json.load(response)
    names = set()
    for trace in document.get("data") or []:
        for span in trace["spans"]:
            span_tags = {tag["key"]: tag["value"] for tag in span.get("tags", [])}
            if all(str(span_tags.get(key)).lower() == value for key, value in tags.items()):
                names.add(span["operationName"])
    return names


def span_now(name: str, attributes: dict[str, Any]) -> Span:
    """A span that ended just now (Jaeger's search looks back from now)."""
    span = make_span(name, attributes)
    span.end_time_unix_nano = time.time_ns()
    span.start_time_unix_nano = span.end_time_unix_nano - 1_000_000
    return span


def wait_until_stored(jaeger: JaegerInstance, names: set[str]) -> None:
    eventually(lambda: tag_search(jaeger, {}) == names,
               lambda: f"Jaeger has {sorted(tag_search(jaeger, {}))} of {sorted(names)}", timeout=60.0)


async def test_failures_and_errors_are_found_by_different_queries(jaeger: JaegerInstance, tmp_path: Path):
    (tmp_path / "evaluator.yaml").write_text(yaml.safe_dump({"scorers": [POLITE]}), "utf-8")
    config = load_config(listen="127.0.0.1:0", export_endpoint=jaeger.otlp_grpc_endpoint,
                         data_dir=str(tmp_path / "data"), config_file=str(tmp_path / "evaluator.yaml"),
                         environ=dict(os.environ))
    spans = [
        span_now("passing", tagged_attributes(("polite", {"actual_output": "thanks!"}))),
        span_now("failing", tagged_attributes(("polite", {"actual_output": "go away"}))),
        span_now("errored", tagged_attributes(("no_such_scorer", {"actual_output": "x"}))),
        span_now("failing-and-errored", tagged_attributes(
            ("polite", {"actual_output": "go away"}), ("no_such_scorer", {"actual_output": "x"}))),
    ]
    async with running(config) as app:
        await export(app, make_request(spans, service=SERVICE))
        await asyncio.to_thread(wait_until_stored, jaeger, {s.name for s in spans})
    verdict, success, status = (
        semconv.JUDGEVAL_EVAL_VERDICT, semconv.JUDGEVAL_EVAL_SUCCESS, semconv.JUDGEVAL_EVAL_STATUS
    )
    assert tag_search(jaeger, {verdict: "fail"}) == {"failing", "failing-and-errored"}
    assert tag_search(jaeger, {success: "false"}) == {"failing", "failing-and-errored"}  # no scoring errors
    assert tag_search(jaeger, {verdict: "error"}) == {"errored"}
    assert tag_search(jaeger, {status: "partial"}) == {"failing-and-errored"}
    assert tag_search(jaeger, {status: "failed"}) == {"errored"}
    assert tag_search(jaeger, {verdict: "pass"}) == tag_search(jaeger, {success: "true"}) == {"passing"}
