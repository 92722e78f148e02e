"""The JSON document of a notification: the generic webhook's body, field for field an
:class:`AlertNotification` (documented in ``evaluator_service/README.md``, section Notification channels).

Bump :data:`DOCUMENT_VERSION` on any change a receiver could notice; adding a field is not one.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

from judgeval import semconv

from evaluator_service.alerts.notification import AlertExample, AlertNotification

DOCUMENT_VERSION = 1


def service_label(n: AlertNotification) -> str | None:
    """The service the alert is filtered on (its ``service.name`` label), if any."""
    return n.labels.get(semconv.SERVICE_NAME) or None


def agent_label(n: AlertNotification) -> str | None:
    """The agent the alert is filtered on (its ``gen_ai.agent.name`` label), if any."""
    return n.labels.get(semconv.GEN_AI_AGENT_NAME) or None


def iso_time(unix: float) -> str:
    """RFC 3339 UTC with microseconds, e.g. ``2026-12-04T18:30:00.123456+00:00``."""
    return datetime.fromtimestamp(unix, UTC).isoformat()


def example_document(example: AlertExample) -> dict[str, Any]:
    return {"trace_id": example.trace_id, "span_id": example.span_id, "service_name": example.service_name,
            "reason": example.reason, "link": example.link}


def notification_document(n: AlertNotification) -> dict[str, Any]:
    """Every field of ``n``; ``at`` as RFC 3339 plus ``at_unix``."""
    return {
        "version": DOCUMENT_VERSION,
        "event_id": n.event_id,
        "dedup_key": n.dedup_key,
        "kind": n.kind.value,
        "alert": n.alert,
        "severity": n.severity.value,
        "state": n.state,
        "previous_state": n.previous_state,
        "summary": n.summary,
        "reason": n.reason,
        "condition": n.condition,
        "at": iso_time(n.at),
        "at_unix": n.at,
        "observed": n.observed,
        "threshold": n.threshold,
        "unit": n.unit,
        "labels": dict(n.labels),
        "examples": [example_document(e) for e in n.examples],
        "links": dict(n.links),
        "details": dict(n.details),
    }


def encode_json(document: Any) -> bytes:
    """Compact UTF-8 JSON; a value JSON cannot hold (a set, a datetime in ``details``) is written as its
    string and a NaN or infinity as ``null``, rather than failing the whole notification."""
    try:
        text = json.dumps(document, separators=(",", ":"), ensure_ascii=False, default=str, allow_nan=False)
    except ValueError:
        text = json.dumps(_finite(document), separators=(",", ":"), ensure_ascii=False, default=str,
                          allow_nan=False)
    return text.encode()


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
