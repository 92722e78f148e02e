"""Reading and writing plain Python values in OTLP protobuf attributes.

The evaluator reads what the SDK exported (the request payload, the span's own attributes) and writes scores
back onto the same protobuf spans; the test receiver (:mod:`judgeval.testing`) reads them too. Reading gives
the plain value an ``AnyValue`` carries (lists for arrays, dicts for kvlists); writing accepts what an
OpenTelemetry attribute may hold (str, bool, int, float or a sequence of them; anything else is written as
its ``str()``). It needs only ``opentelemetry-proto``.

OTLP allows an attribute key to repeat; everything here reads the *last* occurrence as the key's value
(:func:`find_attribute`, :func:`attributes_dict`), :func:`drop_repeated_keys` normalizes a span to that
reading, and :func:`set_attributes` leaves exactly one occurrence of every key it writes, so a value it
replaced cannot survive in an earlier copy. Text that protobuf cannot encode (a lone UTF-16 surrogate, which
JSON's ``\\ud800`` escape and Python strings can hold) is written with U+FFFD in its place instead of
raising.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableSequence, Sequence
from typing import Any

from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span


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


def find_attribute(attributes: Sequence[KeyValue], key: str) -> Any:
    """The value of one attribute (its last occurrence, as in :func:`attributes_dict`), or ``None``;
    cheaper than building the whole dict."""
    for kv in reversed(attributes):
        if kv.key == key:
            return python_value(kv.value)
    return None


def drop_repeated_keys(attributes: MutableSequence[KeyValue]) -> bool:
    """Keep only the last occurrence of every repeated key (what readers here see); ``True`` if any was
    dropped."""
    last = {kv.key: index for index, kv in enumerate(attributes)}
    if len(last) == len(attributes):
        return False
    keep = set(last.values())
    for index in reversed(range(len(attributes))):
        if index not in keep:
            del attributes[index]
    return True


def set_attributes(span: Span, attributes: Mapping[str, Any]) -> None:
    """Set attributes on ``span``, replacing existing values of the same key (keeping the position of its
    first occurrence and dropping any later one)."""
    existing = span.attributes
    index: dict[str, KeyValue] = {}
    repeated: list[int] = []
    for position, pair in enumerate(existing):
        key = pair.key
        if key not in index:
            index[key] = pair
        elif key in attributes:
            repeated.append(position)
    if repeated:  # rare: a repeated key we are about to write
        for position in reversed(repeated):
            del existing[position]
        index = {pair.key: pair for pair in reversed(existing)}  # first occurrences
    for key, value in attributes.items():
        kv = index.get(key)
        if kv is None:
            key = valid_text(key)
            kv = index[key] = existing.add(key=key)
        else:
            kv.value.Clear()
        assign_value(kv.value, value)


def add_event(span: Span, name: str, attributes: Mapping[str, Any], time_unix_nano: int) -> None:
    """Append one event to ``span``."""
    event = span.events.add(name=valid_text(name), time_unix_nano=time_unix_nano)
    for key, value in attributes.items():
        assign_value(event.attributes.add(key=valid_text(key)).value, value)


def valid_text(text: str) -> str:
    """``text`` with every lone surrogate (which UTF-8, and so protobuf, cannot encode) replaced by
    U+FFFD."""
    if text.isascii():
        return text
    try:
        text.encode()
    except UnicodeEncodeError:
        # UTF-16 with surrogatepass joins well-formed pairs back together and leaves lone halves to replace.
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def assign_value(target: AnyValue, value: Any) -> None:
    """Write ``value`` into an empty ``AnyValue`` in place (no temporary message to copy)."""
    if isinstance(value, str):
        target.string_value = valid_text(value)
    elif isinstance(value, bool):
        target.bool_value = value
    elif isinstance(value, int):
        target.int_value = value
    elif isinstance(value, float):
        target.double_value = value
    elif isinstance(value, list | tuple):
        target.array_value.values.extend(to_any_value(v) for v in value)
    else:
        target.string_value = valid_text(str(value))


def to_any_value(value: Any) -> AnyValue:
    """A Python attribute value (str, bool, int, float or a list of them) as an OTLP ``AnyValue``."""
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, list | tuple):
        out = AnyValue()
        out.array_value.values.extend(to_any_value(v) for v in value)
        return out
    return AnyValue(string_value=valid_text(str(value)))
