"""Evaluator-side rules: score spans of zero-code apps that never call ``async_evaluate``.

A rule matches a span when every ``when`` entry equals the span attribute of that key, or, if the span has
no such attribute, the resource attribute (so ``service.name`` works). A matched span is sampled
deterministically from its trace id by the rule the SDK uses (:mod:`judgeval.protocol.sampling`), so every
span of a trace shares the decision. Besides attributes, ``when`` and ``example`` may name the span's
pseudo-fields (:mod:`evaluator_service.span_fields`).

A sampled span is rewritten into an ordinary tagged span (``judgeval.eval.status=pending``, an encoded
``judgeval.eval.requests`` entry per rule, ``judgeval.eval.rule``) and from there on follows the same path.
Rules only look at spans that carry no ``judgeval.eval.status`` yet: spans tagged by the SDK keep their own
requests, and enriched spans coming back through a collector are never re-scored.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from judgeval import semconv
from judgeval.protocol.evaluation_request import EvaluationRequest, ScorerRef, encode_requests
from judgeval.protocol.otlp_values import attributes_dict, set_attributes
from judgeval.protocol.sampling import is_sampled_bytes
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from evaluator_service.config import RuleConfig
from evaluator_service.span_fields import span_fields

DEFAULT_EXAMPLE_MAPPING = {
    "input": semconv.GEN_AI_INPUT_MESSAGES,
    "actual_output": semconv.GEN_AI_OUTPUT_MESSAGES,
}
"""Example fields a rule fills when it gives no ``example`` mapping: the GenAI message attributes."""

class RuleMatcher:
    """Applies the configured rules to incoming spans."""

    def __init__(self, rules: Sequence[RuleConfig]) -> None:
        self._rules = tuple(rules)

    def __bool__(self) -> bool:
        return bool(self._rules)

    def apply(self, span: Span, resource: dict[str, Any]) -> bool:
        """Tag ``span`` for every matching, sampled rule; returns whether it now needs scoring."""
        attributes = attributes_dict(span.attributes) | span_fields(span)
        if semconv.JUDGEVAL_EVAL_STATUS in attributes:
            return False
        lookup = resource | attributes
        matched = [
            r for r in self._rules if _matches(r, lookup) and is_sampled_bytes(span.trace_id, r.sampling_rate)
        ]
        if not matched:
            return False
        requests = [_request_for(rule, lookup) for rule in matched]
        set_attributes(span, {
            semconv.JUDGEVAL_EVAL_STATUS: semconv.EvalStatus.PENDING.value,
            semconv.JUDGEVAL_EVAL_REQUESTS: encode_requests(requests),
            semconv.JUDGEVAL_EVAL_SCORERS: [r.scorer for r in matched],
            semconv.JUDGEVAL_EVAL_RULE: ",".join(r.name for r in matched),
        })
        return True


def _matches(rule: RuleConfig, lookup: dict[str, Any]) -> bool:
    for key, expected in rule.when.items():
        actual = lookup.get(key)
        if actual != expected and str(actual) != str(expected):
            return False
    return True


def _request_for(rule: RuleConfig, lookup: dict[str, Any]) -> EvaluationRequest:
    mapping = rule.example or DEFAULT_EXAMPLE_MAPPING
    example = {name: lookup[key] for name, key in mapping.items() if key in lookup}
    return EvaluationRequest(scorer=ScorerRef(name=rule.scorer, threshold=rule.threshold), example=example)
