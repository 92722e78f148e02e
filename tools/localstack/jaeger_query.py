"""Read what a real Jaeger stored, through its HTTP API v3 (OTLP-JSON), flattened for assertions.

``GET /api/v3/traces/{trace_id}`` answers ``{"result": {"resourceSpans": [...]}}`` in OTLP-JSON (hex ids,
64-bit integers as strings); ``GET /api/v3/services`` answers ``{"services": [...]}``. Spans are flattened
into :class:`JaegerSpan` records whose attributes are plain Python values, mirroring
``judgeval.testing.otlp_receiver.ReceivedSpan``.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class JaegerSpan:
    """One span as Jaeger returned it."""

    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    attributes: dict[str, Any]
    resource: dict[str, Any]
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def json_any_value(value: dict[str, Any]) -> Any:
    """Convert an OTLP-JSON ``AnyValue`` object to the plain Python value it carries."""
    if "intValue" in value:
        return int(value["intValue"])
    if "arrayValue" in value:
        return [json_any_value(v) for v in value["arrayValue"].get("values", [])]
    if "kvlistValue" in value:
        return json_attributes(value["kvlistValue"].get("values", []))
    for kind in ("stringValue", "boolValue", "doubleValue", "bytesValue"):
        if kind in value:
            return value[kind]
    return None


def json_attributes(key_values: list[dict[str, Any]]) -> dict[str, Any]:
    """Convert an OTLP-JSON attribute list to a dict."""
    return {kv["key"]: json_any_value(kv.get("value", {})) for kv in key_values}


def flatten_resource_spans(resource_spans: list[dict[str, Any]]) -> list[JaegerSpan]:
    """Flatten OTLP-JSON ``resourceSpans`` into :class:`JaegerSpan` records."""
    spans: list[JaegerSpan] = []
    for rs in resource_spans:
        resource = json_attributes(rs.get("resource", {}).get("attributes", []))
        for scope_spans in rs.get("scopeSpans", []):
            for span in scope_spans.get("spans", []):
                spans.append(
                    JaegerSpan(
                        name=span["name"],
                        trace_id=span["traceId"],
                        span_id=span["spanId"],
                        parent_span_id=span.get("parentSpanId", ""),
                        attributes=json_attributes(span.get("attributes", [])),
                        resource=resource,
                        events=[
                            (e["name"], json_attributes(e.get("attributes", [])))
                            for e in span.get("events", [])
                        ],
                    )
                )
    return spans


class JaegerQuery:
    """Client for one Jaeger's HTTP API v3 (``base_url`` like ``http://127.0.0.1:16686``)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def _get(self, path: str) -> dict[str, Any] | None:
        """GET a JSON document; ``None`` on 404 (Jaeger's answer for an unknown trace)."""
        try:
            with urllib.request.urlopen(self.base_url + path, timeout=10) as response:
                document: dict[str, Any] = json.load(response)
                return document
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            raise

    def services(self) -> list[str]:
        """Names of the services Jaeger has seen spans from."""
        document = self._get("/api/v3/services") or {}
        return list(document.get("services", []))

    def trace(self, trace_id: str) -> list[JaegerSpan]:
        """All stored spans of a trace (hex id); empty if Jaeger has none."""
        document = self._get(f"/api/v3/traces/{urllib.parse.quote(trace_id)}")
        if document is None:
            return []
        return flatten_resource_spans(document.get("result", {}).get("resourceSpans", []))

    def find_traces(self, service: str, lookback_s: float = 3600, limit: int = 50) -> list[list[JaegerSpan]]:
        """Recent traces of ``service``, each as its list of spans (``GET /api/v3/traces?query...``)."""
        now = datetime.now(UTC)
        params = urllib.parse.urlencode({
            "query.service_name": service,
            "query.start_time_min": (now - timedelta(seconds=lookback_s)).isoformat().replace("+00:00", "Z"),
            "query.start_time_max": (now + timedelta(seconds=60)).isoformat().replace("+00:00", "Z"),
            "query.num_traces": str(limit),
        })
        document = self._get(f"/api/v3/traces?{params}")
        if document is None:
            return []
        by_trace: dict[str, list[JaegerSpan]] = {}
        for span in flatten_resource_spans(document.get("result", {}).get("resourceSpans", [])):
            by_trace.setdefault(span.trace_id, []).append(span)
        return list(by_trace.values())

    def wait_for_trace(
        self,
        trace_id: str,
        predicate: Callable[[list[JaegerSpan]], bool],
        timeout: float = 30.0,
    ) -> list[JaegerSpan]:
        """Poll until ``predicate(spans of the trace)`` holds; raises ``TimeoutError`` with what was seen."""
        deadline = time.monotonic() + timeout
        while True:
            spans = self.trace(trace_id)
            if predicate(spans):
                return spans
            if time.monotonic() >= deadline:
                seen = [(s.name, s.span_id) for s in spans]
                raise TimeoutError(f"trace {trace_id} condition not met in {timeout}s; Jaeger has {seen}")
            time.sleep(0.2)
