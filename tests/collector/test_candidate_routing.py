"""Rule candidates through the real collector and Jaeger, the evaluator's endpoint played by an in-process
OTLP receiver: untagged LLM/agent spans of every vocabulary go to the evaluator only, other untagged spans
to Jaeger only, and what the evaluator sends back (every span with a final status, ``not_selected`` when no
rule took it) reaches Jaeger exactly once without looping."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from judgeval import semconv
from judgeval.protocol.otlp_values import set_attributes
from judgeval.testing.otlp_receiver import OtlpTraceReceiver
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from evaluator_service.localstack.procs import COLLECTOR_CONFIG_DIR, OtelBinaries, validate_config
from evaluator_service.localstack.stack import (
    CollectorInstance,
    JaegerInstance,
    collector_env,
    start_collector,
)

from .test_routing import send_to_collector, spans_with_id, with_status

SERVICE = "candidate-routing-test"
NOT_SELECTED = semconv.EvalStatus.NOT_SELECTED.value
SCORED = semconv.EvalStatus.SCORED.value

CANDIDATES = {
    "official-genai": {semconv.GEN_AI_OPERATION_NAME: "chat", semconv.GEN_AI_PROVIDER_NAME: "openai"},
    "older-genai": {semconv.GEN_AI_SYSTEM: "openai"},
    "openinference": {semconv.OPENINFERENCE_SPAN_KIND: "LLM"},
    "openllmetry": {semconv.LLM_REQUEST_TYPE: "chat"},
    "judgeval-agent": {semconv.GEN_AI_OPERATION_NAME: "invoke_agent"},
}
"""One untagged span per vocabulary the default candidate condition knows, by span name."""
CONFIGS = sorted(p.name for p in COLLECTOR_CONFIG_DIR.glob("otelcol-*.yaml"))


def provider_for(collector: CollectorInstance) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({semconv.SERVICE_NAME: SERVICE}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=collector.grpc_endpoint,
                                                                    insecure=True)))
    return provider


@contextmanager
def routing_collector(
    otel_binaries: OtelBinaries, work_dir: Path, jaeger: JaegerInstance, evaluator: OtlpTraceReceiver,
    config: str, **env: str,
) -> Iterator[CollectorInstance]:
    """One shipped config in front of Jaeger, ``evaluator`` as the (only) evaluator replica."""
    with start_collector(
        otel_binaries.otelcol, work_dir, evaluator.endpoint, jaeger.otlp_grpc_endpoint,
        config=COLLECTOR_CONFIG_DIR / config, JUDGEVAL_EVALUATOR_ENDPOINTS=f"[{evaluator.endpoint}]", **env,
    ) as collector:
        yield collector


def emit(provider: TracerProvider, children: dict[str, dict[str, str]]) -> tuple[str, dict[str, str]]:
    """An untagged plain root with the given children, flushed in ONE export (both pipelines see the same
    batch, so once the root is in Jaeger a child slipping past a filter would be there too)."""
    tracer = provider.get_tracer("candidate-routing-test")
    ids = {}
    with tracer.start_as_current_span("plain-root") as root:
        ids["plain-root"] = f"{root.get_span_context().span_id:016x}"
        for name, attributes in children.items():
            with tracer.start_as_current_span(name, attributes=attributes) as child:
                ids[name] = f"{child.get_span_context().span_id:016x}"
    assert provider.force_flush(10_000)
    return f"{root.get_span_context().trace_id:032x}", ids


@pytest.mark.parametrize("config", CONFIGS)
def test_untagged_candidates_of_every_vocabulary_go_to_the_evaluator_and_nowhere_else(
    otel_binaries: OtelBinaries,
    tmp_path: Path,
    jaeger: JaegerInstance,
    evaluator_receiver: OtlpTraceReceiver,
    config: str,
) -> None:
    work_dir = tmp_path / "otelcol"
    with routing_collector(otel_binaries, work_dir, jaeger, evaluator_receiver, config) as collector:
        agent_provider = provider_for(collector)
        try:
            check_round_trip(collector, agent_provider, jaeger, evaluator_receiver)
        finally:
            agent_provider.shutdown()


def check_round_trip(
    collector: CollectorInstance, agent_provider: TracerProvider, jaeger: JaegerInstance,
    evaluator_receiver: OtlpTraceReceiver,
) -> None:
    trace_id, ids = emit(agent_provider, CANDIDATES | {"plain-step": {"app.step": "parse"}})

    received = evaluator_receiver.wait_for(lambda spans: len(spans) >= len(CANDIDATES))
    stored = jaeger.query.wait_for_trace(trace_id, lambda spans: len(spans) >= 2)
    assert sorted(s.name for s in received) == sorted(CANDIDATES)
    assert sorted(s.name for s in stored) == ["plain-root", "plain-step"]

    # The evaluator sends every one back with a final status: each reaches Jaeger once and never loops.
    for index, span in enumerate(received):
        status = NOT_SELECTED if index % 2 else SCORED
        assert span.proto is not None
        set_attributes(span.proto, {semconv.JUDGEVAL_EVAL_STATUS: status})  # candidates arrive untagged
        send_to_collector(collector, with_status(span, status))
    stored = jaeger.query.wait_for_trace(trace_id, lambda spans: len(spans) >= 2 + len(CANDIDATES))
    _, barrier = emit(agent_provider, {"barrier": CANDIDATES["official-genai"]})
    after = evaluator_receiver.wait_for(lambda spans: bool(spans_with_id(spans, barrier["barrier"])))

    assert len(after) == len(CANDIDATES) + 1  # only the barrier came in since
    assert sorted(s.span_id for s in stored) == sorted(ids.values())
    assert {s.attributes[semconv.JUDGEVAL_EVAL_STATUS] for s in stored if s.name in CANDIDATES} == {
        NOT_SELECTED, SCORED
    }


def test_an_extra_candidate_condition_from_the_environment(
    otel_binaries: OtelBinaries, tmp_path: Path, jaeger: JaegerInstance, evaluator_receiver: OtlpTraceReceiver
) -> None:
    with routing_collector(
        otel_binaries, tmp_path / "otelcol", jaeger, evaluator_receiver, "otelcol-loadbalanced.yaml",
        JUDGEVAL_CANDIDATE_CONDITION='name == "retrieve" or attributes["app.kind"] == "judge-me"',
    ) as collector:
        provider = provider_for(collector)
        try:
            trace_id, _ = emit(provider, {"retrieve": {}, "flagged": {"app.kind": "judge-me"}, "other": {}})
        finally:
            provider.shutdown()
        received = evaluator_receiver.wait_for(lambda spans: len(spans) >= 2)
        stored = jaeger.query.wait_for_trace(trace_id, lambda spans: len(spans) >= 2)
    assert sorted(s.name for s in received) == ["flagged", "retrieve"]
    assert sorted(s.name for s in stored) == ["other", "plain-root"]


@pytest.mark.parametrize("path", [COLLECTOR_CONFIG_DIR / c for c in CONFIGS], ids=lambda p: p.name)
def test_a_broken_candidate_condition_is_refused_with_the_ottl_error(
    otel_binaries: OtelBinaries, tmp_path: Path, path: Path
) -> None:
    env = collector_env(tmp_path, "127.0.0.1:4319", "127.0.0.1:4317",
                        JUDGEVAL_CANDIDATE_CONDITION='attributes["app.kind"] ==')
    result = validate_config(otel_binaries.otelcol, path, env)
    assert result.returncode != 0
    assert "unable to parse OTTL condition" in result.stderr
    assert 'attributes[\\"app.kind\\"] ==' in result.stderr
