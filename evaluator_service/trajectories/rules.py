"""Zero-code trajectory rules: ``scope: trace`` and ``scope: session`` rules pick the bounding span of a
trajectory among the feed copies, for apps whose SDK writes no trajectory request.

A ``scope: trace`` rule bounds a trace at a span matching its ``when`` (and ``instrumentation_scope`` /
``span_kind`` when given, as span rules match), or at the trace's root span when it has no ``when``; the
trace is scored once no span arrived for the rule's ``idle_s`` after that span (a zero-code trace has no
explicit end marker), or, when the rule gives ``grace_s``, that long after the bounding span arrived (the
rule says the bounding span ends last, as an SDK-bounded trace's does). When several rules bound one span,
waiting for silence wins over a fixed grace, and the longest wait of each kind counts.
A ``scope: session`` rule bounds the same way, and groups the trace into the session named by the first of
its ``session_keys`` (default :data:`judgeval.semconv.SESSION_ID_KEYS`) on the span, else its resource. A
matched span gets the trajectory requests the SDK would have written, so from there on a rule-bounded
trajectory is scored like any other. Sampling is the shared trace-id rule at the rule's ``sampling_rate``.

The spans must reach the evaluator's trajectory feed: apps without the SDK's tracestate need the
collector's ``JUDGEVAL_TRAJECTORY_CONDITION`` to select them (see collector-config/README.md); without a
collector, ``trajectories.direct`` copies every span of a trace :meth:`TrajectoryRules.samples`.
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
    """What the matching rules make of a span: the requests it now carries, its session, and when its trace
    is complete (``idle_s`` of silence, else ``grace_s`` after it arrived, else the global grace)."""

    requests: str
    session_id: str | None
    idle_s: float | None
    grace_s: float | None = None


class TrajectoryRules:
    """The configured ``scope: trace`` / ``scope: session`` rules."""

    def __init__(self, rules: Sequence[RuleConfig]) -> None:
        self._rules = tuple(r for r in rules if r.scope != "span")
        self._widest_rate = max((r.sampling_rate for r in self._rules), default=0.0)

    def __bool__(self) -> bool:
        return bool(self._rules)

    def samples(self, trace_id: bytes) -> bool:
        """Whether any rule samples ``trace_id`` (the shared rule is monotonic in the rate, so the widest
        rate decides)."""
        return is_sampled_bytes(trace_id, self._widest_rate)

    def bound(self, span: Span, resource: dict[str, Any], scope: str) -> RuleBound | None:
        """The trajectories ``span`` bounds by rule (``None``: none, or not sampled)."""
        lookup = resource | attributes_dict(span.attributes) | span_fields(span)
        requests, session, idles, graces = [], None, [], []
        for rule in self._rules:
            if rule.when:
                if not rule_selects(rule, span, scope, lookup):
                    continue
            elif span.parent_span_id or not rule_selects(rule, span, scope, lookup):
                continue  # no `when`: the root span bounds
            if not is_sampled_bytes(span.trace_id, rule.sampling_rate):
                continue
            if rule.scope == semconv.TrajectoryScope.SESSION:
                found = _session_id(lookup, rule.session_keys or semconv.SESSION_ID_KEYS)
                if found is None:
                    continue
                session = session or found
            elif rule.idle_s is not None:
                idles.append(rule.idle_s)
            elif rule.grace_s is not None:
                graces.append(rule.grace_s)
            requests.append(
                TrajectoryRequest(
                    ScorerRef(name=rule.scorer, threshold=rule.threshold),
                    scope=rule.scope,
                    sampling_rate=rule.sampling_rate,
                )
            )
        if not requests:
            return None
        return RuleBound(
            encode_trajectory_requests(requests),
            session,
            idle_s=max(idles) if idles else None,
            grace_s=max(graces) if graces and not idles else None,
        )


def _session_id(lookup: dict[str, Any], keys: Sequence[str]) -> str | None:
    for key in keys:
        value = lookup.get(key)
        if value is not None and str(value):
            return str(value)
    return None
