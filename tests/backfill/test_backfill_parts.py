"""The backfill's parts on their own: Jaeger's model turned into OTLP (ids, references, typed tags), the
span filter, the estimate and budget, the config section, and the result span and log record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from judgeval import semconv
from judgeval.protocol.otlp_values import attributes_dict
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from evaluator_service.backends.jaeger_model import stored_traces
from evaluator_service.backfill.estimate import Budget, SpanCost, span_cost
from evaluator_service.backfill.results import result_log, result_span
from evaluator_service.backfill.selection import SpanFilter, backfilled_in_trace, is_evaluation, scored_live
from evaluator_service.backfill.settings import jaeger_url_allowed, parse_backfill
from evaluator_service.config_values import ConfigError, Section
from evaluator_service.scoring.contract import ScoreOutcome, ScoreResult
from evaluator_service.scoring.judge_prices import ModelPrice

START = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
START_US = int(START.timestamp() * 1_000_000)


def jaeger_document(**span_fields: object) -> dict[str, object]:
    span = {
        "traceID": "abc", "spanID": "1f", "operationName": "chat", "startTime": START_US, "duration": 5,
        "references": [{"refType": "FOLLOWS_FROM", "traceID": "ff" * 16, "spanID": "2" * 16},
                       {"refType": "CHILD_OF", "traceID": "abc", "spanID": "3" * 16}],
        "tags": [{"key": "blob", "type": "binary", "value": "AAE="},
                 {"key": "n", "type": "int64", "value": 3},
                 {"key": "error", "type": "bool", "value": True},
                 {"key": "span.kind", "type": "string", "value": "producer"}],
        "logs": [], "processID": "p1", **span_fields,
    }
    return {"data": [{"traceID": "abc", "spans": [span], "processes": {
        "p1": {"serviceName": "svc", "tags": [{"key": "tenant", "type": "string", "value": "acme"}]}}}]}


def test_jaeger_ids_references_and_tags_become_otlp() -> None:
    [trace] = stored_traces(jaeger_document())
    [stored] = trace.spans
    assert trace.trace_id == "0" * 29 + "abc"  # Jaeger drops leading zeros; OTLP ids are full length
    assert stored.span_id == "0" * 14 + "1f"
    assert stored.parent_span_id == "3" * 16  # the CHILD_OF reference, wherever it is listed
    links = [(link.trace_id.hex(), link.span_id.hex()) for link in stored.span.links]
    assert links == [("ff" * 16, "2" * 16)]
    assert stored.attributes == {"blob": b"\x00\x01", "n": 3}
    assert stored.span.kind == Span.SPAN_KIND_PRODUCER
    assert stored.span.status.code == Status.STATUS_CODE_ERROR  # `error=true` without otel.status_code
    assert stored.resource_attributes == {"service.name": "svc", "tenant": "acme"}
    assert stored.span.end_time_unix_nano - stored.span.start_time_unix_nano == 5000


def test_the_filter_selects_spans_as_jaeger_tag_search_does() -> None:
    [trace] = stored_traces(jaeger_document(tags=[{"key": "flag", "type": "bool", "value": True}]))
    [span] = trace.spans
    window = {"service": "svc", "start": START - timedelta(hours=1), "end": START + timedelta(hours=1)}
    assert SpanFilter(**window).matches(span)  # type: ignore[arg-type]
    assert SpanFilter(**window, tags={"flag": "true", "tenant": "acme"}).matches(span)  # type: ignore[arg-type]
    assert not SpanFilter(**window, tags={"flag": "True"}).matches(span)  # type: ignore[arg-type]
    assert not SpanFilter(**window, operation="other").matches(span)  # type: ignore[arg-type]
    assert not SpanFilter("other", window["start"], window["end"]).matches(span)  # type: ignore[arg-type]
    assert not SpanFilter("svc", START + timedelta(seconds=1), START + timedelta(hours=1)).matches(span)
    evaluation = stored_traces(jaeger_document(tags=[
        {"key": semconv.JUDGEVAL_SPAN_TYPE, "type": "string", "value": "evaluation"}]))[0].spans[0]
    assert is_evaluation(evaluation) and not SpanFilter(**window).matches(evaluation)  # type: ignore[arg-type]
    value_key = semconv.score_attribute("My Judge", semconv.ScoreField.VALUE)
    live = stored_traces(jaeger_document(tags=[{"key": value_key, "type": "float64", "value": 1}]))
    assert scored_live(live[0].spans[0], "My Judge") and not scored_live(live[0].spans[0], "Other")


def test_estimate_and_budget() -> None:
    price = ModelPrice(input_per_1m_tokens=1.0, output_per_1m_tokens=2.0)
    cost = span_cost({"input": "x" * 1200, "actual_output": "y" * 400}, 1, price, output_tokens_per_call=100)
    assert cost.input_tokens == 600  # (800 prompt characters + 1600 field characters) / 4
    assert cost.cost_usd == pytest.approx(600 / 1e6 + 200 / 1e6)
    assert span_cost({"input": "x"}, 0, price, 100) == SpanCost(0, 0, 0.0)  # a code scorer costs nothing
    assert span_cost({"input": "x"}, 1, None, 100).cost_usd == 0.0  # unpriced: the plan says unknown
    budget = Budget(max_judge_calls=2, max_cost_usd=None)
    assert budget.allows(1, 0.0, SpanCost(1, 10, 0.1)) and not budget.allows(2, 0.0, SpanCost(1, 10, 0.1))
    assert not Budget(max_cost_usd=0.25).allows(2, 0.2, SpanCost(1, 10, 0.1))
    assert Budget().allows(10**9, 1e9, SpanCost(1, 10, 0.1))


def test_the_config_section_names_its_mistakes() -> None:
    config = parse_backfill(Section({"jaeger_url": "http://jaeger:16686", "output_tokens_per_call": 50},
                                    "backfill"))
    assert (config.jaeger_url, config.output_tokens_per_call) == ("http://jaeger:16686", 50)
    with pytest.raises(ConfigError, match=r"backfill\.jaeger_url: must start with http"):
        parse_backfill(Section({"jaeger_url": "jaeger:16686"}, "backfill"))
    with pytest.raises(ConfigError, match=r"backfill\.prices: unknown key"):  # prices are judge.prices
        parse_backfill(Section({"prices": {"m": {"per_call_usd": 1}}}, "backfill"))
    with pytest.raises(ConfigError, match=r"backfill\.page_limit: must be >= 2"):
        parse_backfill(Section({"page_limit": 1}, "backfill"))


def test_only_the_configured_and_allowed_jaeger_urls_may_be_read() -> None:
    config = parse_backfill(Section({"jaeger_url": "http://jaeger:16686",
                                     "allowed_jaeger_urls": ["https://jaeger.eu.example:443/q/"]},
                                    "backfill"))
    for url in ("http://jaeger:16686", "HTTP://JAEGER:16686/", "https://jaeger.eu.example/q",
                "https://jaeger.eu.example:443/q"):
        assert jaeger_url_allowed(url, config), url
    for url in ("http://jaeger:16687", "https://jaeger:16686", "http://jaeger:16686/other",
                "http://169.254.169.254", "http://jaeger:16686@169.254.169.254:16686",
                "http://jaeger:16686/?x=1", "http://jaeger:99999", "https://jaeger.eu.example/q/x"):
        assert not jaeger_url_allowed(url, config), url
    assert not jaeger_url_allowed("http://jaeger:16686", parse_backfill(Section({}, "backfill")))
    with pytest.raises(ConfigError, match=r"backfill\.allowed_jaeger_urls\[1\]: must be an http:// or https"):
        parse_backfill(Section({"allowed_jaeger_urls": ["http://a:1", "a:1"]}, "backfill"))
    with pytest.raises(ConfigError, match=r"backfill\.allowed_jaeger_urls: must be a list"):
        parse_backfill(Section({"allowed_jaeger_urls": "http://a:1"}, "backfill"))


def test_a_result_is_a_child_span_and_a_log_record_in_the_scored_span_context() -> None:
    [trace] = stored_traces(jaeger_document())
    [scored] = trace.spans
    result = ScoreResult("My Judge", 0.5, outcome=ScoreOutcome(value=0.2, reason="off topic"))
    span = result_span(scored, result, "3", "run-1", "host:4320")
    attributes = attributes_dict(span.attributes)
    assert span.trace_id == scored.span.trace_id and span.parent_span_id == scored.span.span_id
    assert span.name == "evaluate My Judge"
    assert attributes[semconv.JUDGEVAL_EVALUATOR_VERSION] == 3
    assert attributes[semconv.JUDGEVAL_BACKFILL_RUN_ID] == "run-1"
    assert attributes[semconv.JUDGEVAL_EVAL_VERDICT] == semconv.EvalVerdict.FAIL.value
    assert attributes[semconv.score_attribute("My Judge", semconv.ScoreField.REASON)] == "off topic"
    record = result_log(scored, span)
    record_attributes = attributes_dict(record.attributes)
    assert (record.trace_id, record.span_id) == (scored.span.trace_id, scored.span.span_id)
    assert record.event_name == semconv.GEN_AI_EVALUATION_RESULT_EVENT
    assert record_attributes[semconv.GEN_AI_EVALUATION_NAME] == "My Judge"
    assert record_attributes[semconv.JUDGEVAL_BACKFILL_RUN_ID] == "run-1"
    assert record.body.string_value == "off topic"
    # A later run finds the result in the trace: same scorer and version done, another version not.
    written = stored_traces(jaeger_document())[0]
    child = type(scored)(span, scored.resource, scored.scope)
    both = type(written)(written.trace_id, (scored, child))
    assert backfilled_in_trace(both, scored, "My Judge", "3")
    assert not backfilled_in_trace(both, scored, "My Judge", "4")
