"""Reading plain Python values out of OTLP protobuf attributes.

Shared by the evaluator service and the test receiver (:mod:`judgeval.testing`); it needs only
``opentelemetry-proto``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue


def python_value(value: AnyValue) -> Any:
    """The plain Python value an OTLP ``AnyValue`` carries (``None`` when empty)."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [python_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return attributes_dict(value.kvlist_value.values)
    return getattr(value, kind)


def attributes_dict(attributes: Iterable[KeyValue]) -> dict[str, Any]:
    """Repeated OTLP ``KeyValue`` as a dict (the last value wins on duplicate keys)."""
    return {kv.key: python_value(kv.value) for kv in attributes}


def find_attribute(attributes: Iterable[KeyValue], key: str) -> Any:
    """The value of one attribute, or ``None``; cheaper than building the whole dict."""
    for kv in attributes:
        if kv.key == key:
            return python_value(kv.value)
    return None
