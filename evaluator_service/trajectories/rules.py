"""Zero-code trajectory rules: ``scope: trace`` and ``scope: session`` rules pick the bounding span of a
trajectory among the feed copies, for apps whose SDK writes no trajectory request.

A ``scope: trace`` rule bounds a trace at a span matching its ``when`` (and ``scope``/``span_kind`` when
given, as span rules match), or at the trace's root span when it has no ``when``; the trace is scored once
no span arrived for the rule's ``idle_s`` after that span (a zero-code trace has no explicit end marker).
A ``scope: session`` rule bounds the same way, and groups the trace into the session named by the first of
its ``session_keys`` (default :data:`judgeval.semconv.SESSION_ID_KEYS`) on the span, else its resource. A
matched span gets the trajectory requests the SDK would have written, so from there on a rule-bounded
trajectory is scored like any other. Sampling is the shared trace-id rule at the rule's ``sampling_rate``.

The spans must reach the evaluator's trajectory feed: apps without the SDK's tracestate need the
collector's ``JUDGEVAL_TRAJECTORY_CONDITION`` to select them (see collector-config/README.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from judgeval import semconv
from judgeval.protocol.evaluation_request import ScorerRef
from judgeval.protocol.otlp_values import attributes_dict
from judgeval.protocol.sampling import is_sampled_bytes
from judgeval.protocol.trajectory_request import TrajectoryRequest, encode_trajectory_requests
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from evaluator_service.config_sections import RuleConfig
from evaluator_service.span_fields import span_fields
from evaluator_service.span_rules import rule_selects


@dataclass(frozen=True, slots=True)
class RuleBound:
    """What the matching rules make of a span: the requests it now carries, its session, the trace idle."""

    requests: str
    session_id: str | None
    idle_s: float | None


class TrajectoryRules:
    """The configured ``scope: trace`` / ``scope: session`` rules."""

    def __init__(self, rules: Sequence[RuleConfig]) -> None:
        self._rules = tuple(r for r in rules if r.trajectory != "span")

    def __bool__(self) -> bool:
        return bool(self._rules)

    def bound(self, span: Span, resource: dict[str, Any], scope: str) -> RuleBound | None:
        """The trajectories ``span`` bounds by rule (``None``: none, or not sampled)."""
        lookup = resource | attributes_dict(span.attributes) | span_fields(span)
        requests, session, idles = [], None, []
        for rule in self._rules:
            if rule.when:
                if not rule_selects(rule, span, scope, lookup):
                    continue
            elif span.parent_span_id or not rule_selects(rule, span, scope, lookup):
                continue  # no `when`: the root span bounds
            if not is_sampled_bytes(span.trace_id, rule.sampling_rate):
                continue
            if rule.trajectory == semconv.TrajectoryScope.SESSION:
                found = _session_id(lookup, rule.session_keys or semconv.SESSION_ID_KEYS)
                if found is None:
                    continue
                session = session or found
            elif rule.idle_s is not None:
                idles.append(rule.idle_s)
            requests.append(
                TrajectoryRequest(
                    ScorerRef(name=rule.scorer, threshold=rule.threshold),
                    scope=rule.trajectory,
                    sampling_rate=rule.sampling_rate,
                )
            )
        if not requests:
            return None
        return RuleBound(encode_trajectory_requests(requests), session, max(idles) if idles else None)


def _session_id(lookup: dict[str, Any], keys: Sequence[str]) -> str | None:
    for key in keys:
        value = lookup.get(key)
        if value is not None and str(value):
            return str(value)
    return None
