"""OTLP attribute values: what the writer puts on a protobuf span, the reader gives back."""

from __future__ import annotations

from judgeval.protocol.otlp_values import (
    add_event,
    attributes_dict,
    drop_repeated_keys,
    find_attribute,
    python_value,
    set_attributes,
    to_any_value,
    valid_text,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

VALUES = {"s": "text", "b": True, "i": -3, "f": 0.25, "list": ["a", 1, 2.5, False]}


def test_written_attributes_read_back_and_replace_in_place():
    span = Span(name="x")
    set_attributes(span, {"first": 1, **VALUES})
    assert attributes_dict(span.attributes) == {"first": 1, **VALUES}
    set_attributes(span, {"first": "replaced", "new": 2})
    assert [kv.key for kv in span.attributes] == ["first", *VALUES, "new"]
    assert find_attribute(span.attributes, "first") == "replaced"
    assert find_attribute(span.attributes, "missing") is None


def _repeated() -> Span:
    span = Span(name="x")
    for key, value in [("a", "1"), ("b", "2"), ("a", "3"), ("c", "4"), ("a", "5")]:
        span.attributes.append(KeyValue(key=key, value=AnyValue(string_value=value)))
    return span


def test_the_last_occurrence_of_a_repeated_key_wins_everywhere():
    span = _repeated()
    assert find_attribute(span.attributes, "a") == attributes_dict(span.attributes)["a"] == "5"
    assert drop_repeated_keys(span.attributes)
    assert [(kv.key, kv.value.string_value) for kv in span.attributes] == [("b", "2"), ("c", "4"), ("a", "5")]
    assert not drop_repeated_keys(span.attributes)


def test_setting_a_repeated_key_leaves_one_occurrence():
    span = _repeated()
    set_attributes(span, {"a": "new", "d": 6})
    assert [kv.key for kv in span.attributes] == ["a", "b", "c", "d"]
    assert attributes_dict(span.attributes) == {"a": "new", "b": "2", "c": "4", "d": 6}


def test_events_and_any_values():
    span = Span(name="x")
    add_event(span, "evt", VALUES, 123)
    (event,) = span.events
    assert (event.name, event.time_unix_nano) == ("evt", 123)
    assert attributes_dict(event.attributes) == VALUES
    for value in VALUES.values():
        assert python_value(to_any_value(value)) == value
    assert python_value(to_any_value(("t", 1))) == ["t", 1]
    assert python_value(to_any_value(object)) == str(object)  # anything else: its str()
    assert python_value(AnyValue()) is None


def test_text_protobuf_cannot_encode_is_written_with_a_replacement_character():
    span = Span(name="x")
    set_attributes(span, {"lone \ud800": "reason \udfff", "pair": "\ud83d\ude00"})
    add_event(span, "evt \udc00", {"k": ["a\ud800"]}, 1)
    span.SerializeToString()
    assert attributes_dict(span.attributes) == {"lone \ufffd": "reason \ufffd", "pair": "\U0001f600"}
    assert span.events[0].name == "evt \ufffd"
    assert python_value(span.events[0].attributes[0].value) == ["a\ufffd"]
    assert valid_text("plain") == "plain"
