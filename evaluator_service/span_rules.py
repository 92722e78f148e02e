"""Evaluator-side rules: score spans of zero-code apps that never call ``async_evaluate``.

A rule matches a span when every ``when`` entry equals the span attribute of that key, or, if the span has
no such attribute, the resource attribute (so ``service.name`` works), and, when the rule gives them, the
span's instrumentation scope name (``scope``) and span kind (``span_kind``) are the rule's. A matched
span is sampled deterministically from its trace id by the rule the SDK uses
(:mod:`judgeval.protocol.sampling`), so every span of a trace shares the decision. Besides attributes,
``when`` and ``example`` may name the span's pseudo-fields (:mod:`evaluator_service.span_fields`).

A sampled span is rewritten into an ordinary tagged span (``judgeval.eval.status=pending``, an encoded
``judgeval.eval.requests`` entry per rule, ``judgeval.eval.rule``) and from there on follows the same path.
A rule's request carries no copy of the example: it records where each field comes from
(``example_from``), and the dispatcher reads the fields from the span when it scores it, ``input`` and
``actual_output`` from whichever vocabulary the span carries (:mod:`evaluator_service.span_vocabularies`)
unless the rule maps them to attribute keys.
Rules only look at spans that carry no ``judgeval.eval.status`` yet: spans tagged by the SDK keep their own
requests, and enriched spans coming back through a collector are never re-scored.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from judgeval import semconv
from judgeval.protocol.evaluation_request import (
    FROM_VOCABULARY,
    EvaluationRequest,
    ScorerRef,
    encode_requests,
)
from judgeval.protocol.otlp_values import attributes_dict, set_attributes
from judgeval.protocol.sampling import is_sampled_bytes
from judgeval.protocol.span_content import RESOLVED_FIELDS
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from evaluator_service.config_sections import RuleConfig
from evaluator_service.span_fields import SPAN_KINDS, span_fields

DEFAULT_EXAMPLE_SOURCES = {name: FROM_VOCABULARY for name in sorted(RESOLVED_FIELDS)}
"""Example fields every rule fills, unless its ``example`` maps them: from the span's vocabulary."""

class RuleMatcher:
    """Applies the configured rules to incoming spans."""

    def __init__(self, rules: Sequence[RuleConfig]) -> None:
        self._rules = tuple(rules)

    def __bool__(self) -> bool:
        return bool(self._rules)

    def apply(self, span: Span, resource: dict[str, Any], scope: str = "") -> bool:
        """Tag ``span`` (of the instrumentation scope named ``scope``) for every matching, sampled rule;
        returns whether it now needs scoring."""
        attributes = attributes_dict(span.attributes) | span_fields(span)
        if semconv.JUDGEVAL_EVAL_STATUS in attributes:
            return False
        lookup = resource | attributes
        matched = [
            r for r in self._rules
            if _selects(r, span, scope) and _matches(r, lookup)
            and is_sampled_bytes(span.trace_id, r.sampling_rate)
        ]
        if not matched:
            return False
        requests = [_request_for(rule) for rule in matched]
        set_attributes(span, {
            semconv.JUDGEVAL_EVAL_STATUS: semconv.EvalStatus.PENDING.value,
            semconv.JUDGEVAL_EVAL_REQUESTS: encode_requests(requests),
            semconv.JUDGEVAL_EVAL_SCORERS: [r.scorer for r in matched],
            semconv.JUDGEVAL_EVAL_RULE: ",".join(r.name for r in matched),
        })
        return True


def _selects(rule: RuleConfig, span: Span, scope: str) -> bool:
    """The rule's instrumentation scope and span kind, where it names them, are the span's."""
    if rule.instrumentation_scope is not None and rule.instrumentation_scope != scope:
        return False
    return rule.span_kind is None or SPAN_KINDS[rule.span_kind] == span.kind


def _matches(rule: RuleConfig, lookup: dict[str, Any]) -> bool:
    for key, expected in rule.when.items():
        actual = lookup.get(key)
        if actual != expected and str(actual) != str(expected):
            return False
    return True


def _request_for(rule: RuleConfig) -> EvaluationRequest:
    """A request that refers to the span's content instead of copying it."""
    return EvaluationRequest(
        scorer=ScorerRef(name=rule.scorer, threshold=rule.threshold),
        example={},
        example_from=DEFAULT_EXAMPLE_SOURCES | rule.example,
    )


def rule_selects(rule: RuleConfig, span: Span, scope: str, lookup: dict[str, Any]) -> bool:
    """Whether ``rule``'s instrumentation scope, span kind and ``when`` hold for ``span`` (``lookup``: its
    resource attributes overlaid by its own and its pseudo-fields); trajectory rules match the same way."""
    return _selects(rule, span, scope) and _matches(rule, lookup)

