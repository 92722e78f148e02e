"""Discovery beyond failures: new kinds of *input* among scored traffic, before they fail.

Every scored span whose trace id falls in the sample (``behaviors.inputs.sample_rate``, the SDK's
deterministic trace-id rule) has the ``input`` of its evaluation request embedded and placed, in the
background, among the input behaviors (kind ``input``) of its agent (``gen_ai.agent.name``, else the
service): a request unlike every input pattern seen so far founds a new one, so ``behavior.created`` with
``attributes.kind = input`` says "the agent is being asked something new", and the lifecycle says whether
that pattern is increasing, resolved or back. The span itself is never held or changed: this runs as a
score observer after the span is written, and at most ``max_pending`` placements wait at a time (more are
skipped and counted in ``judgeval.behaviors.errors`` as ``input_backlog``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

from judgeval import semconv
from judgeval.protocol.evaluation_request import InvalidEvaluationRequest, decode_requests
from judgeval.protocol.otlp_values import find_attribute
from judgeval.protocol.sampling import is_sampled_bytes
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, Span

from evaluator_service.behaviors.embedding import Embedder
from evaluator_service.behaviors.matching import nearest_behavior
from evaluator_service.behaviors.settings import InputsConfig
from evaluator_service.behaviors.text import MAX_FIELD_CHARS, salient_name
from evaluator_service.metrics import EvaluatorMetrics
from evaluator_service.scoring.contract import ScoreResult
from evaluator_service.state.behavior_records import KIND_INPUT, BehaviorExample, StoredBehavior
from evaluator_service.state.behavior_rows import BehaviorState, FailureDraft

logger = logging.getLogger(__name__)

INPUT_GROUP_PREFIX = "input:"
"""The ``scorer`` of an input behavior is this prefix and the agent (or service) whose inputs it groups."""


class InputDiscovery:
    """A score observer grouping sampled inputs into input behaviors; :meth:`stop` cancels what waits."""

    def __init__(self, config: InputsConfig, embedder: Embedder, threshold: float, state: BehaviorState,
                 metrics: EvaluatorMetrics, clock: Callable[[], float],
                 on_placed: Callable[[StoredBehavior, bool], None], sample_capacity: int = 64) -> None:
        self.config = config
        self._sample_capacity = sample_capacity
        self._embedder = embedder
        self._choose = nearest_behavior(threshold)
        self._state = state
        self._metrics = metrics
        self._clock = clock
        self._on_placed = on_placed
        self._tasks: set[asyncio.Task[None]] = set()

    def observe(self, span: Span, results: Sequence[ScoreResult], resource_envelope: bytes) -> None:
        """Start placing ``span``'s input if it is sampled; returns at once (never raises into the
        dispatcher: it catches observer errors, but a decode problem is not one)."""
        if not results or not is_sampled_bytes(span.trace_id, self.config.sample_rate):
            return
        text = _input_of(span)
        if not text:
            return
        if len(self._tasks) >= self.config.max_pending:
            self._metrics.behavior_error("input_backlog")
            return
        group = _agent_of(span) or _service_of(resource_envelope) or "-"
        task = asyncio.get_running_loop().create_task(self._place(span, text, group))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def wait_idle(self) -> None:
        """Wait for the placements started so far (tests and orderly shutdown)."""
        if self._tasks:
            await asyncio.gather(*set(self._tasks), return_exceptions=True)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _place(self, span: Span, text: str, group: str) -> None:
        try:
            vector = await self._embedder.embed(text)
            draft = FailureDraft(
                scorer=INPUT_GROUP_PREFIX + group, space=self._embedder.space, vector=vector,
                example=BehaviorExample(span.trace_id.hex(), span.span_id.hex(), text, input=text,
                                        vector=tuple(vector)),
                provisional_name=salient_name([text]), kind=KIND_INPUT, description=text,
                agent=group, at=self._clock(), sample_capacity=self._sample_capacity,
            )
            behavior, new, replayed = await self._state.record_failure(draft, self._choose)
        except Exception as exc:  # an input pattern is a nicety: count it, keep going
            self._metrics.behavior_error(f"input_{type(exc).__name__}")
            logger.debug("placing an input failed: %s", exc)
            return
        if not replayed:  # a span scored again was counted when first placed
            self._on_placed(behavior, new)


def _input_of(span: Span) -> str:
    """The first non-empty ``input`` of the span's evaluation requests (rules' examples are not read)."""
    raw = find_attribute(span.attributes, semconv.JUDGEVAL_EVAL_REQUESTS)
    if raw is None:
        return ""
    try:
        requests = decode_requests(raw)
    except InvalidEvaluationRequest:
        return ""
    for request in requests:
        value: Any = request.example.get("input")
        if value:
            return (value if isinstance(value, str) else repr(value))[:MAX_FIELD_CHARS]
    return ""


def _agent_of(span: Span) -> str:
    found = find_attribute(span.attributes, semconv.GEN_AI_AGENT_NAME)
    return str(found) if found else ""


def _service_of(envelope: bytes) -> str:
    if not envelope:
        return ""
    try:
        found = find_attribute(ResourceSpans.FromString(envelope).resource.attributes, semconv.SERVICE_NAME)
    except Exception:
        return ""
    return str(found) if found else ""
