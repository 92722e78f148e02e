"""The Jaeger query client against the real Jaeger binary: a trace read back as OTLP protobuf (kind,
status, parent, events, scope, resource, typed attributes), searches by service, operation, tags and time
range, paging by time windows when Jaeger's per-query limit is reached, and clear errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from evaluator_service.backends.errors import BackendQueryError, BackendRefused, BackendUnreachable
from evaluator_service.backends.jaeger_query import JaegerQueryClient
from tests.backfill.past_traffic import SERVICE, PastTraffic
from tools.localstack.procs import free_endpoint
from tools.localstack.stack import JaegerInstance

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def traffic(jaeger: JaegerInstance) -> Iterator[PastTraffic]:
    traffic = PastTraffic(jaeger)
    yield traffic
    traffic.close()


def test_a_trace_comes_back_as_the_otlp_spans_that_were_sent(
    jaeger: JaegerInstance, traffic: PastTraffic
) -> None:
    sent = traffic.add(NOW - timedelta(days=2), "where is my parcel?", "it left yesterday",
                       {"score.hint": 0.5, "flagged": True, "tags": ["a", "b"]})
    traffic.flush()
    with JaegerQueryClient(jaeger.query_url) as client:
        trace = client.get_trace(sent.trace_id)
        assert client.get_trace(sent.trace_id.upper()) is not None
        assert client.get_trace("0" * 31 + "1") is None
        assert client.services() == [SERVICE]
        assert client.operations(SERVICE) == ["chat gpt-4o", "handle"]
    assert trace is not None and trace.trace_id == sent.trace_id
    chat = trace.span(sent.chat_span_id)
    root = trace.span(sent.root_span_id)
    assert chat is not None and root is not None
    assert trace.children(sent.root_span_id) == [chat]
    assert chat.parent_span_id == sent.root_span_id and root.parent_span_id == ""
    assert chat.span.kind == Span.SPAN_KIND_CLIENT and root.span.kind == Span.SPAN_KIND_SERVER
    assert root.span.status.code == Status.STATUS_CODE_ERROR
    assert root.span.status.message == "upstream failed"
    assert chat.span.status.code == Status.STATUS_CODE_UNSET
    assert chat.span.start_time_unix_nano == int(sent.started.timestamp() * 1e9) + 1_000_000
    assert chat.span.end_time_unix_nano - chat.span.start_time_unix_nano == 49_000_000
    assert (chat.scope.name, chat.scope.version) == ("support.agent", "2.1")
    assert chat.attributes["gen_ai.input.messages"] == "where is my parcel?"
    assert chat.attributes["gen_ai.usage.input_tokens"] == 12
    assert chat.attributes["score.hint"] == 0.5 and chat.attributes["flagged"] is True
    assert chat.attributes["tags"] == '["a","b"]'  # arrays come back as Jaeger's model writes them: JSON
    assert not {"span.kind", "otel.scope.name", "otel.status_code", "error"} & set(chat.attributes)
    assert [(e.name, e.time_unix_nano - chat.span.start_time_unix_nano) for e in chat.span.events] == [
        ("gen_ai.choice", 1_000_000)]
    assert chat.service_name == SERVICE
    assert chat.resource_attributes["deployment.environment"] == "prod"


def test_searches_filter_by_operation_tags_and_time_range(
    jaeger: JaegerInstance, traffic: PastTraffic
) -> None:
    old = traffic.add(NOW - timedelta(days=9), "q-old", "a-old")
    recent = traffic.add(NOW - timedelta(days=3), "q-recent", "a-recent")
    tagged = traffic.add(NOW - timedelta(days=2), "q-tagged", "a-tagged", {"tenant": "acme"})
    traffic.flush()
    week = {"start": NOW - timedelta(days=7), "end": NOW}
    with JaegerQueryClient(jaeger.query_url) as client:
        ids = [t.trace_id for t in client.find_traces(SERVICE, **week)]
        assert ids == [recent.trace_id, tagged.trace_id]  # oldest first, the 9-day-old one outside
        assert {t.trace_id for t in client.find_traces(SERVICE, start=NOW - timedelta(days=30), end=NOW)} == {
            old.trace_id, recent.trace_id, tagged.trace_id}
        by_tag = client.find_traces(SERVICE, tags={"tenant": "acme"}, **week)
        assert [t.trace_id for t in by_tag] == [tagged.trace_id]
        assert len(by_tag[0].spans) == 2  # whole traces, the root that does not match too
        both = client.find_traces(SERVICE, tags={"gen_ai.operation.name": "chat", "tenant": "acme"}, **week)
        assert [t.trace_id for t in both] == [tagged.trace_id]
        by_operation = client.find_traces(SERVICE, operation="handle", **week)
        assert [t.trace_id for t in by_operation] == [recent.trace_id, tagged.trace_id]
        assert client.find_traces(SERVICE, operation="no such span", **week) == []
        assert client.find_traces("no-such-service", **week) == []
        assert [t.trace_id for t in client.find_traces(SERVICE, limit=1, **week)] == [recent.trace_id]


def test_more_traces_than_jaeger_answers_per_query_are_read_window_by_window(
    jaeger: JaegerInstance, traffic: PastTraffic
) -> None:
    sent = [traffic.add(NOW - timedelta(hours=5 * i + 1), f"q{i}", f"a{i}") for i in range(9)]
    traffic.flush()
    with JaegerQueryClient(jaeger.query_url, page_limit=2) as client:
        found = client.find_traces(SERVICE, start=NOW - timedelta(days=3), end=NOW)
        assert client.queries > 4  # Jaeger answered at most 2 per query: the range was split
    assert [t.trace_id for t in found] == [t.trace_id for t in reversed(sent)]


def test_errors_name_the_backend_and_the_reason(jaeger: JaegerInstance) -> None:
    week = {"start": NOW - timedelta(days=7), "end": NOW}
    with JaegerQueryClient(f"http://{free_endpoint()}", timeout_s=2) as client, \
            pytest.raises(BackendUnreachable, match="is unreachable"):
        client.find_traces(SERVICE, **week)
    with JaegerQueryClient(jaeger.query_url) as client:
        with pytest.raises(BackendRefused, match="not a trace id"):
            client.get_trace("not-hex")
        with pytest.raises(BackendRefused, match="service name is required"):
            client.find_traces("", **week)
        with pytest.raises(BackendRefused, match="time range is empty"):
            client.find_traces(SERVICE, start=NOW, end=NOW - timedelta(days=1))
    # a wrong base path, a port that is not Jaeger's query API
    with JaegerQueryClient(f"{jaeger.query_url}/static") as client, \
            pytest.raises(BackendRefused, match=r"HTTP 404: 404 page not found .*base path"):
        client.services()
    assert jaeger.process.health_url is not None  # answers JSON, but not the query API's
    with JaegerQueryClient(jaeger.process.health_url.removesuffix("/status")) as client, \
            pytest.raises(BackendQueryError, match=r"query API JSON|refused"):
        client.services()
    with pytest.raises(BackendQueryError, match="must start with http"):
        JaegerQueryClient("jaeger:16686")
