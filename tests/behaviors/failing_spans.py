"""Spans failing the deterministic ``keyword`` (no "refund" in the answer) and
``pii`` (an e-mail address in the answer) scorers, so no LLM judge is involved."""

from __future__ import annotations

from typing import Any

from judgeval import semconv
from judgeval.testing.otlp_receiver import ReceivedSpan
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from tests.support.spans import make_span, tagged_attributes

REFUND = "refund_keyword"
PII = "no_pii"
SCORERS = [
    {"name": REFUND, "type": "keyword", "options": {"keywords": ["refund"]}},
    {"name": PII, "type": "pii"},
]
API_KEY = "behaviors-test-key"


def no_refund_span(n: int) -> Span:
    """Fails ``refund_keyword``: the agent never offers a refund."""
    output = f"Sorry, your order is delayed, we cannot do anything about it (ticket {n})"
    return make_span(f"no-refund-{n}", tagged_attributes(
        (REFUND, {"input": "My order is late, I want my money back", "actual_output": output})))


def pii_span(n: int) -> Span:
    """Fails ``no_pii``: the agent leaks a customer's e-mail address."""
    output = f"Your account manager is reachable at manager{n}@example.com for your order"
    return make_span(f"pii-{n}", tagged_attributes(
        (PII, {"input": "Who handles my account?", "actual_output": output})))


def passing_span(n: int) -> Span:
    """Passes ``refund_keyword``."""
    return make_span(f"ok-{n}", tagged_attributes(
        (REFUND, {"input": "My order is late", "actual_output": f"We issued a refund for order {n}"})))


def behavior_of(span: ReceivedSpan) -> tuple[Any, Any, Any]:
    """(id, name, new) written on a downstream span, ``None`` for each that is missing."""
    attrs = span.attributes
    return (attrs.get(semconv.JUDGEVAL_BEHAVIOR_ID), attrs.get(semconv.JUDGEVAL_BEHAVIOR_NAME),
            attrs.get(semconv.JUDGEVAL_BEHAVIOR_NEW))


def scored(count: int):  # type: ignore[no-untyped-def]
    """A ``wait_for`` predicate: ``count`` spans arrived with a final eval status."""
    return lambda spans: sum(1 for s in spans if semconv.JUDGEVAL_EVAL_STATUS in s.attributes) >= count
