"""A backfill's plan: the scorer resolved, the spans selected from the trace backend, and their estimate.

:func:`plan_backfill` reads Jaeger (in a worker thread), keeps the spans the filter selects
(:mod:`~evaluator_service.backfill.selection`), drops those the scorer already scored live or the same
scorer version scored in an earlier backfill (by the state database and by the results already in the
trace), fills each span's example from its attribute vocabulary as a rule would
(:mod:`evaluator_service.span_vocabularies`), and prices the judge calls
(:mod:`~evaluator_service.backfill.estimate`). Nothing is written. Every refusal is a
:class:`BackfillRefused` whose ``code`` says which gRPC status it is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from judgeval.protocol.evaluation_request import EvaluationRequest, ScorerRef
from judgeval.protocol.otlp_values import attributes_dict

from evaluator_service.backends.errors import BackendQueryError, BackendRefused, BackendUnreachable
from evaluator_service.backends.jaeger_query import JaegerQueryClient
from evaluator_service.backends.stored_spans import StoredSpan, StoredTrace
from evaluator_service.backfill.estimate import Budget, SpanCost, span_cost
from evaluator_service.backfill.selection import SpanFilter, backfilled_in_trace, scored_live
from evaluator_service.backfill.settings import BackfillConfig
from evaluator_service.errors import EvaluatorError
from evaluator_service.scoring.contract import Scorer
from evaluator_service.scoring.judge_prices import ModelPrice
from evaluator_service.span_fields import span_fields
from evaluator_service.span_rules import DEFAULT_EXAMPLE_SOURCES
from evaluator_service.span_vocabularies import with_span_examples
from evaluator_service.state.backfill_rows import BackfillState


class BackfillRefused(EvaluatorError):
    """A backfill that cannot run as asked; ``code`` is ``invalid_argument``, ``not_found``,
    ``failed_precondition`` (also for an unreachable Jaeger), ``permission_denied`` (a Jaeger URL outside
    ``backfill.allowed_jaeger_urls``) or ``unavailable`` (the evaluator's own state database is down, or it
    is still starting): the gRPC status the admin API answers."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ResolvedScorer:
    """The scorer a backfill runs: its request reference (an uploaded scorer's version pinned), the version
    its results are recorded under (``""`` for configured and built-in scorers), its judge calls per span
    and the judge model they are priced at."""

    ref: ScorerRef
    version: str
    judge_calls_per_span: int
    model: str | None


class ScorerLookup(Protocol):
    """Resolves a scorer name (and version) for a backfill; raises :class:`BackfillRefused`."""

    async def __call__(self, name: str, version: int | None, threshold: float) -> ResolvedScorer: ...


@dataclass(frozen=True)
class BackfillSpec:
    """What the user asked for."""

    scorer: str
    version: int | None
    filter: SpanFilter
    jaeger_url: str
    budget: Budget = field(default_factory=Budget)
    threshold: float = 0.5


@dataclass(frozen=True)
class PlannedSpan:
    """One span to score: where it is, the request with its example filled in, its estimated cost."""

    stored: StoredSpan
    request: EvaluationRequest
    fields: dict[str, Any]
    cost: SpanCost


@dataclass
class BackfillPlan:
    """The spans a run would score and what the selection left out."""

    scorer: ResolvedScorer
    spans: list[PlannedSpan]
    traces_read: int = 0
    spans_matched: int = 0
    already_backfilled: int = 0
    already_scored_live: int = 0
    priced: bool = False
    """Whether the judge model has a configured price (else the cost is unknown, shown as such)."""

    @property
    def judge_calls(self) -> int:
        return sum(p.cost.judge_calls for p in self.spans)

    @property
    def input_tokens(self) -> int:
        return sum(p.cost.input_tokens for p in self.spans)

    @property
    def cost_usd(self) -> float:
        return sum(p.cost.cost_usd for p in self.spans)

    def within(self, budget: Budget) -> int:
        """Spans scored in order before ``budget`` stops the run (at the estimate)."""
        calls, cost = 0, 0.0
        for index, planned in enumerate(self.spans):
            if not budget.allows(calls, cost, planned.cost):
                return index
            calls, cost = calls + planned.cost.judge_calls, cost + planned.cost.cost_usd
        return len(self.spans)


def judge_calls_of(scorer: Scorer, uploaded_calls: int) -> int:
    """Judge calls one span costs: one for an LLM judge, the configured assumption for an uploaded scorer
    (its calls go through the sandbox's egress proxy), none for a code scorer."""
    if getattr(scorer, "calls_judge", False):
        return 1
    return uploaded_calls if getattr(scorer, "stored", None) is not None else 0


async def plan_backfill(spec: BackfillSpec, config: BackfillConfig, lookup: ScorerLookup,
                        state: BackfillState, prices: Mapping[str, ModelPrice] | None = None,
                        client_factory: Callable[[str], JaegerQueryClient] | None = None) -> BackfillPlan:
    """Resolve, select and estimate (see the module doc)."""
    scorer = await lookup(spec.scorer, spec.version, spec.threshold)
    factory = client_factory or (lambda url: JaegerQueryClient(url, timeout_s=config.timeout_s,
                                                               page_limit=config.page_limit))
    traces, matched = await asyncio.to_thread(_read, factory, spec, config.max_spans)
    plan = BackfillPlan(scorer, [], traces_read=len(traces), spans_matched=sum(len(m) for m in matched))
    price = (prices or {}).get(scorer.model or "")
    plan.priced = price is not None
    for trace, spans in zip(traces, matched, strict=True):
        if not spans:
            continue
        done = await state.backfilled_spans(scorer.ref.name, scorer.version, trace.trace_id)
        for span in spans:
            if scored_live(span, scorer.ref.name):
                plan.already_scored_live += 1
            elif span.span_id in done or backfilled_in_trace(trace, span, scorer.ref.name, scorer.version):
                plan.already_backfilled += 1
            else:
                request, fields = _request(scorer.ref, span)
                cost = span_cost(request.example, scorer.judge_calls_per_span, price,
                                 config.output_tokens_per_call)
                plan.spans.append(PlannedSpan(span, request, fields, cost))
    plan.spans.sort(key=lambda p: (p.stored.span.start_time_unix_nano, p.stored.span_id))
    return plan


def _read(factory: Callable[[str], JaegerQueryClient], spec: BackfillSpec, max_spans: int
          ) -> tuple[list[StoredTrace], list[list[StoredSpan]]]:
    """The traces Jaeger returns and, per trace, the spans the filter selects (worker thread)."""
    wanted = spec.filter
    traces: list[StoredTrace] = []
    matched: list[list[StoredSpan]] = []
    count = 0
    try:
        with factory(spec.jaeger_url) as client:
            for trace in client.iter_traces(wanted.service, start=wanted.start, end=wanted.end,
                                            operation=wanted.operation, tags=dict(wanted.tags)):
                spans = [s for s in trace.spans if wanted.matches(s)]
                count += len(spans)
                if count > max_spans:
                    raise BackfillRefused("failed_precondition", (
                        f"more than {max_spans} spans match (backfill.max_spans); narrow the time range or "
                        "the filter, or raise the limit"))
                traces.append(trace)
                matched.append(spans)
    except BackendUnreachable as exc:  # the evaluator is fine: its backend is not (not UNAVAILABLE)
        raise BackfillRefused("failed_precondition", str(exc)) from None
    except BackendRefused as exc:
        raise BackfillRefused("invalid_argument", str(exc)) from None
    except BackendQueryError as exc:
        raise BackfillRefused("failed_precondition", str(exc)) from None
    return traces, matched


def _request(ref: ScorerRef, stored: StoredSpan) -> tuple[EvaluationRequest, dict[str, Any]]:
    """The span's request as a rule would make it, its example read from the span's vocabulary."""
    fields = attributes_dict(stored.span.attributes) | span_fields(stored.span)
    request = EvaluationRequest(scorer=ref, example={}, example_from=dict(DEFAULT_EXAMPLE_SOURCES))
    filled: Sequence[EvaluationRequest] = with_span_examples([request], stored.span, fields,
                                                             stored.resource_envelope())
    return filled[0], fields
