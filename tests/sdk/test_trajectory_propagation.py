"""The ``judgeval=t`` tracestate member reaches every span of a trajectory to be scored by the evaluator:
spans of a third-party instrumentation in this process (the official OpenAI instrumentor) and spans of
another process that receives the W3C headers over real HTTP, all exported over OTLP.

The outgoing request's headers are written by OpenTelemetry's global propagator, exactly as every HTTP
client instrumentation writes them (the httpx/requests instrumentations are not installed in the dev
environment: ``opentelemetry-instrument`` would load them into the zero-code tests' apps too)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from judgeval import semconv
from judgeval.scorers import TraceScorer
from judgeval.testing import OtlpTraceReceiver, ReceivedSpan, RecordedOpenAIServer
from judgeval.tracer import Tracer, TraceScorerConfig
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from opentelemetry.trace.span import TraceState

OPENAI_SCOPE = "opentelemetry.instrumentation.genai.openai"

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec(OPENAI_SCOPE) is None,
    reason="needs opentelemetry-instrumentation-genai-openai (the dev extra)",
)

# A second service: extracts the W3C context from the request headers with the global propagator, as any
# instrumented server does, records two spans under it and exports them over OTLP to the same receiver.
DOWNSTREAM = """
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
from opentelemetry import propagate
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

provider = TracerProvider(resource=Resource.create({"service.name": "downstream"}))
provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=sys.argv[1], insecure=True)))
tracer = provider.get_tracer("downstream")

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        headers = {key.lower(): value for key, value in self.headers.items()}
        with tracer.start_as_current_span("lookup", context=propagate.extract(headers)):
            with tracer.start_as_current_span("query db"):
                pass
        body = json.dumps({"tracestate": headers.get("tracestate")}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

server = HTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


class HostedLoopScorer(TraceScorer):
    name: str = "Tool Loop Scorer"
    server_hosted: bool = True


@pytest.fixture
def downstream(tmp_path: Path, receiver: OtlpTraceReceiver) -> Iterator[str]:
    script = tmp_path / "downstream.py"
    script.write_text(DOWNSTREAM)
    process = subprocess.Popen(
        [sys.executable, str(script), receiver.endpoint], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        yield f"http://127.0.0.1:{port}/lookup"
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture
def otlp_provider(receiver: OtlpTraceReceiver) -> Iterator[TracerProvider]:
    provider = TracerProvider(resource=Resource.create({"service.name": "agent"}), shutdown_on_exit=False)
    exporter = OTLPSpanExporter(endpoint=receiver.endpoint, insecure=True)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider
    provider.shutdown()


@pytest.fixture
def instrumented(otlp_provider: TracerProvider) -> Iterator[None]:
    from opentelemetry.instrumentation.genai.openai import OpenAIInstrumentor

    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=otlp_provider)
    yield
    instrumentor.uninstrument()


def _get(url: str) -> httpx.Response:
    """A GET carrying the current trace context, as an HTTP client instrumentation sends it."""
    headers: dict[str, str] = {}
    propagate.inject(headers)
    return httpx.get(url, headers=headers)


def _member(span: ReceivedSpan) -> str | None:
    members = dict(m.split("=", 1) for m in span.trace_state.split(",") if "=" in m)
    return members.get(semconv.TRACESTATE_KEY)


def test_third_party_and_remote_spans_carry_the_member(
    instrumented: None,
    otlp_provider: TracerProvider,
    receiver: OtlpTraceReceiver,
    openai_server: RecordedOpenAIServer,
    downstream: str,
):
    judgment = Tracer(project_name="propagation", tracer_provider=otlp_provider)
    client = openai.OpenAI(base_url=openai_server.base_url, api_key="test")

    @judgment.observe(span_type="function", scorer_config=TraceScorerConfig(scorer=HostedLoopScorer()))
    def run(question: str) -> dict[str, str]:
        client.chat.completions.create(model="gpt-5-mini", messages=[{"role": "user", "content": question}])
        return _get(downstream).json()  # type: ignore[no-any-return]

    @judgment.observe()
    def unscored() -> None:
        _get(downstream)

    # The agent itself runs under a caller's context that carries a member of the user's own.
    caller = SpanContext(
        trace_id=0x5EED0000000000000000000000000001, span_id=0x42, is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED), trace_state=TraceState([("vendor", "abc")]),
    )
    token = otel_context.attach(trace.set_span_in_context(NonRecordingSpan(caller)))
    try:
        answer = run("Where is my package?")
    finally:
        otel_context.detach(token)
    unscored()
    assert answer["tracestate"] == "judgeval=t,vendor=abc"  # what the second process received over HTTP

    def complete(spans: list[ReceivedSpan]) -> bool:
        return sum(1 for s in spans if s.resource.get("service.name") == "downstream") >= 4

    spans = receiver.wait_for(complete)
    in_trajectory = [s for s in spans if s.trace_id == format(caller.trace_id, "032x") and s.name != "run"]
    by_scope = {s.scope for s in in_trajectory}
    assert by_scope == {OPENAI_SCOPE, "downstream"}
    assert {s.resource.get("service.name") for s in in_trajectory} == {"agent", "downstream"}
    for span in in_trajectory:
        assert _member(span) == "t", (span.name, span.scope, span.trace_state)
        assert "vendor=abc" in span.trace_state
    (bounding,) = [s for s in spans if s.name == "run"]
    assert json.loads(bounding.attributes[semconv.JUDGEVAL_TRAJECTORY_REQUESTS])[0]["scorer"]["name"] == (
        "Tool Loop Scorer"
    )
    # A trace that asked for no trajectory score carries no member, here or downstream.
    others = [s for s in spans if s.trace_id != format(caller.trace_id, "032x")]
    assert others and all(_member(s) is None for s in others)
