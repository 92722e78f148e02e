"""Span pseudo-fields: the span's name and status offered under attribute-like keys.

Span rules match on them (``when``) and map them into examples, scorers that read the span see them beside
its attributes, and alert events carry them; they live here, below all three.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.proto.trace.v1.trace_pb2 import Span

SPAN_NAME_FIELD = "span.name"
"""Pseudo attribute key usable in ``when`` and ``example``: the span's name."""
SPAN_STATUS_CODE_FIELD = "span.status.code"
"""Pseudo attribute key usable in ``example``: ``UNSET``, ``OK`` or ``ERROR``."""
SPAN_STATUS_MESSAGE_FIELD = "span.status.message"
"""Pseudo attribute key usable in ``example``: the span's status description."""

_STATUS_NAMES = {0: "UNSET", 1: "OK", 2: "ERROR"}

SPAN_KINDS: dict[str, int] = {"internal": 1, "server": 2, "client": 3, "producer": 4, "consumer": 5}
"""Span kind names a rule's ``span_kind`` accepts, and the OTLP ``Span.kind`` value each one means."""


def span_fields(span: Span) -> dict[str, Any]:
    """The pseudo attributes of ``span`` (name and status) by their pseudo keys."""
    return {
        SPAN_NAME_FIELD: span.name,
        SPAN_STATUS_CODE_FIELD: _STATUS_NAMES.get(span.status.code, str(span.status.code)),
        SPAN_STATUS_MESSAGE_FIELD: span.status.message,
    }
