"""The scoring dispatcher's behavior hook: put a failing span into a behavior, say what to write on the span.

::

    grouper = BehaviorGrouper(config.behaviors, state, metrics)       # clock=time.time (tests inject one)
    await grouper.start()                       # loads behaviors, polls for changes, runs the lifecycle
    attributes = await grouper.assign(span, requests, results, resource_envelope)  # before enrichment
    enrich_span(span, results, attributes)      # the span is written once, scores and behavior together
    await grouper.stop()

:meth:`BehaviorGrouper.assign` never raises, never writes the span, and returns within ``timeout_s``: on a
timeout or any error it returns no attributes, the span goes on without a behavior and
``judgeval.behaviors.errors`` counts it. The placement itself
keeps running in the background after a timeout (a cancelled database write would help nobody), and its
result still counts toward the behavior.

The in-memory index (every behavior's centroid, refreshed through the shared change counter) picks the
likely behavior without touching the database; the database write then re-checks under a per-scorer lock,
so replicas racing on the same new failure end with one behavior.

A span with no failing score but a scoring error is grouped too, among its scorer's *error* behaviors
(kind ``error``), never mixed with failures. Every ``lifecycle.interval_s`` the lifecycle pass
(:mod:`evaluator_service.behaviors.lifecycle`) moves behaviors between new, ongoing, increasing and resolved
and logs the events; each event is counted in ``judgeval.behaviors.events`` by the replica that logged it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from judgeval import semconv
from judgeval.protocol.evaluation_request import EvaluationRequest
from judgeval.protocol.otlp_values import find_attribute
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, Span

from evaluator_service.behaviors.embedding import Embedder, create_embedder
from evaluator_service.behaviors.events import BehaviorEventKind
from evaluator_service.behaviors.input_discovery import InputDiscovery
from evaluator_service.behaviors.lifecycle import lifecycle_decider
from evaluator_service.behaviors.matching import nearest_behavior
from evaluator_service.behaviors.naming import BehaviorNamer
from evaluator_service.behaviors.reclustering import recluster
from evaluator_service.behaviors.settings import BehaviorsConfig
from evaluator_service.behaviors.splitting import split_mixed
from evaluator_service.behaviors.text import failure_text, salient_name
from evaluator_service.behaviors.vectors import nearest
from evaluator_service.metrics import EvaluatorMetrics
from evaluator_service.scoring.contract import ScoreResult
from evaluator_service.state import ChangeWatcher, SharedState
from evaluator_service.state.behavior_records import (
    KIND_ERROR,
    KIND_FAILURE,
    NAME_PROVISIONAL,
    STATE_REGRESSED,
    BehaviorExample,
    StoredBehavior,
)
from evaluator_service.state.behavior_rows import FailureDraft, Placement, bucket_of

logger = logging.getLogger(__name__)

MODEL_LOAD_WAIT_S = 60.0
"""Longest a failing span waits for the offline embedding model's one-time load (on first need)."""


class BehaviorGrouper:
    """Assigns failing spans to behaviors shared through ``state``."""

    def __init__(self, config: BehaviorsConfig, state: SharedState, metrics: EvaluatorMetrics,
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self._clock = clock
        self._decide = lifecycle_decider(config.lifecycle)
        self._lifecycle_task: asyncio.Task[None] | None = None
        self._warm_up: asyncio.Task[None] | None = None
        self._recluster_task: asyncio.Task[None] | None = None
        self._split_looked_at: dict[str, int] = {}
        self._state = state
        self._metrics = metrics
        self._embedder: Embedder = create_embedder(config.embedding, config.timeout_s)
        self.threshold = (config.similarity_threshold if config.similarity_threshold is not None
                          else self._embedder.default_threshold)
        """Cosine similarity to join a behavior: the configured one, else the embedder's measured default."""
        self.namer = BehaviorNamer(config.naming, state) if config.naming.model else None
        self._index: dict[str, StoredBehavior] = {}
        self._watcher = ChangeWatcher(state, self.refresh)
        self._placements: set[asyncio.Task[Placement]] = set()
        self.inputs = (InputDiscovery(config.inputs, self._embedder, self.threshold, state, metrics, clock,
                                      self._input_placed, config.recluster_sample_size)
                       if config.inputs.enabled else None)
        """Groups sampled inputs of scored traffic (a score observer: :meth:`observe_inputs`)."""

    async def start(self) -> None:
        """Load the shared behaviors and start following other replicas' changes."""
        await self._watcher.check()
        self._watcher.start()
        self._lifecycle_task = asyncio.get_running_loop().create_task(self._lifecycle_loop(),
                                                                      name="behavior-lifecycle")
        if self.config.recluster_interval_s > 0:
            self._recluster_task = asyncio.get_running_loop().create_task(self._recluster_loop(),
                                                                          name="behavior-recluster")

    async def refresh(self) -> None:
        """Reload the in-memory index from the shared state."""
        self._index = {b.id: b for b in await self._state.behaviors()}

    async def stop(self) -> None:
        """Stop polling, cancel unfinished placements and naming, close model clients."""
        await self._watcher.stop()
        if self._warm_up is not None:
            await asyncio.wait({self._warm_up}, timeout=MODEL_LOAD_WAIT_S)
        for loop_task in (self._lifecycle_task, self._recluster_task):
            if loop_task is not None:
                loop_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await loop_task
        if self.inputs is not None:
            await self.inputs.stop()
        for task in list(self._placements):
            task.cancel()
        await asyncio.gather(*self._placements, return_exceptions=True)
        if self.namer is not None:
            await self.namer.aclose()
        await self._embedder.aclose()

    async def run_lifecycle(self) -> int:
        """One lifecycle pass over every behavior at the clock's now; returns the events it logged. Also
        forgets placement keys older than ``replay_memory_s``."""
        now = self._clock()
        await self._state.forget_placements_before(now - self.config.replay_memory_s)
        since = bucket_of(now - self.config.lifecycle.baseline_window_s)
        changed = await self._state.apply_lifecycle(self._decide, now, since)
        events = [kind for kind, _ in changed if kind is not None]
        for kind in events:
            self._metrics.behavior_event(kind)
        for _, behavior in changed:
            self._index[behavior.id] = behavior
        return len(events)

    async def model_loaded(self) -> None:
        """Load the embedding model on first need (about a second for WordLlama, in a worker thread) and
        wait for it: the first failures wait for the load rather than time out. A load that fails is
        reported by the placements."""
        if self._warm_up is None:
            self._warm_up = asyncio.get_running_loop().create_task(self._embedder.warm_up(),
                                                                   name="embedder-load")
        if not self._warm_up.done():
            await asyncio.wait({self._warm_up}, timeout=MODEL_LOAD_WAIT_S)

    def observe_inputs(self, span: Span, results: Sequence[ScoreResult], resource_envelope: bytes) -> None:
        """A dispatcher score observer: place the span's input among the input behaviors (in the
        background, sampled; never holds the span)."""
        if self.inputs is not None:
            self.inputs.observe(span, results, resource_envelope)

    def _input_placed(self, behavior: StoredBehavior, new: bool) -> None:
        self._index[behavior.id] = behavior
        if new:
            self._metrics.behavior_event(BehaviorEventKind.CREATED.value)
        elif behavior.state == STATE_REGRESSED and behavior.state_since == behavior.last_seen:
            self._metrics.behavior_event(BehaviorEventKind.REGRESSED.value)

    async def run_reclustering(self) -> list[tuple[str, str]]:
        """One re-clustering pass: split mixed behaviors (:mod:`evaluator_service.behaviors.splitting`),
        then merge near-duplicates (:mod:`evaluator_service.behaviors.reclustering`); returns the
        (merged, into) pairs and reloads the index when it changed anything. Each behavior split off is
        counted as a ``behavior.created`` event."""
        split = await self.run_splitting()
        merged = await recluster(self._state, self.config.recluster_min_cluster_size,
                                 self._embedder.merge_similarity, self.config.recluster_sample_size)
        if merged or split:
            await self.refresh()
        return merged

    async def run_splitting(self) -> list[tuple[str, str]]:
        """The split step alone; returns the (behavior, new behavior) pairs."""
        if self.config.recluster_sample_size <= 0:
            return []
        cut = min(self.threshold, self._embedder.merge_similarity)  # so the merge step never rejoins them
        split = await split_mixed(self._state, cut, self.config.recluster_split_min_group, self._clock(),
                                  failed=lambda _id: self._metrics.behavior_error("split"),
                                  looked_at=self._split_looked_at)
        for _ in split:
            self._metrics.behavior_event(BehaviorEventKind.CREATED.value)
        return split

    async def _recluster_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.recluster_interval_s)
            try:
                await self.run_reclustering()
            except Exception as exc:  # the next pass retries; online assignment goes on meanwhile
                self._metrics.behavior_error("recluster")
                logger.warning("behavior re-clustering pass failed: %s", exc)

    async def _lifecycle_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.lifecycle.interval_s)
            try:
                await self.run_lifecycle()
            except Exception as exc:  # the next pass retries; assignment goes on meanwhile
                self._metrics.behavior_error("lifecycle")
                logger.warning("behavior lifecycle pass failed: %s", exc)

    async def assign(self, span: Span, requests: Sequence[EvaluationRequest],
                     results: Sequence[ScoreResult], resource_envelope: bytes = b"",
                     agents: Sequence[str] = ()) -> dict[str, Any]:
        """Assign ``span`` (scored with ``results``, not yet enriched) to a behavior if a score failed (or,
        with no failing score, a scorer errored); returns the behavior attributes to write onto it (none
        if nothing failed or placement failed). ``resource_envelope`` is the span's serialized
        ``ResourceSpans`` (the service it touches); the behavior touches the span's agent
        (``gen_ai.agent.name``) and ``agents`` (a trajectory result's: the agents of the trajectory)."""
        pairs = list(zip(requests, results, strict=False))
        failed = next(((req, res) for req, res in pairs if res.failed), None)
        errored = next(((req, res) for req, res in pairs if res.error_kind is not None), None)
        chosen = failed or errored
        if chosen is None:
            return {}
        request, result = chosen
        kind = KIND_FAILURE if failed else KIND_ERROR
        service, environment = _resource_labels(resource_envelope)
        await self.model_loaded()
        task = asyncio.get_running_loop().create_task(
            self._place(span, request, result, kind, (service, environment), tuple(agents)))
        self._placements.add(task)
        task.add_done_callback(self._placed)
        try:
            behavior, new, _ = await asyncio.wait_for(asyncio.shield(task), self.config.timeout_s)
        except TimeoutError:
            self._metrics.behavior_error("timeout")
            logger.warning("behavior assignment took over %.1fs; span exported without a behavior",
                           self.config.timeout_s)
            return {}
        except Exception as exc:
            self._metrics.behavior_error(type(exc).__name__)
            logger.warning("behavior assignment failed; span exported without a behavior: %s", exc)
            return {}
        return {
            semconv.JUDGEVAL_BEHAVIOR_ID: behavior.id, semconv.JUDGEVAL_BEHAVIOR_NAME: behavior.name,
            semconv.JUDGEVAL_BEHAVIOR_NEW: new, semconv.JUDGEVAL_BEHAVIOR_SCORER: behavior.scorer,
            semconv.JUDGEVAL_BEHAVIOR_KIND: behavior.kind,
        }

    def _placed(self, task: asyncio.Task[Placement]) -> None:
        self._placements.discard(task)
        if task.cancelled() or task.exception() is not None:
            return  # reported by assign (or the evaluator is stopping)
        behavior, new, replayed = task.result()
        self._index[behavior.id] = behavior
        if replayed:  # counted when first placed; only a name the crash may have cut short is asked again
            if new and behavior.name_source == NAME_PROVISIONAL and self.namer is not None:
                self.namer.name_later(behavior)
            return
        self._metrics.behavior_assigned(behavior.id, behavior.scorer, new)
        if new:
            self._metrics.behavior_event(BehaviorEventKind.CREATED.value)
        elif behavior.state == STATE_REGRESSED and behavior.state_since == behavior.last_seen:
            self._metrics.behavior_event(BehaviorEventKind.REGRESSED.value)  # this member regressed it
        if new and self.namer is not None:
            self.namer.name_later(behavior)

    async def _place(self, span: Span, request: EvaluationRequest, result: ScoreResult, kind: str,
                     resource: tuple[str, str], agents: tuple[str, ...]) -> Placement:
        if kind == KIND_ERROR:
            reason = f"{result.error_kind}: {result.error_message}"
        else:
            reason = (result.outcome.reason if result.outcome is not None else "") or ""
        text = failure_text(result.scorer_name, reason, request.example, self.config.fields)
        vector = await self._embedder.embed(text)
        same_scorer = [(b.id, b.centroid) for b in self._index.values()
                       if (b.scorer, b.space, b.kind) == (result.scorer_name, self._embedder.space, kind)]
        candidate, similarity = nearest(vector, same_scorer)
        agent = find_attribute(span.attributes, semconv.GEN_AI_AGENT_NAME)
        draft = FailureDraft(
            scorer=result.scorer_name, space=self._embedder.space, vector=vector,
            example=BehaviorExample(span.trace_id.hex(), span.span_id.hex(), text, reason=reason[:600],
                                    input=_shown(request.example.get("input")), vector=tuple(vector)),
            provisional_name=salient_name([reason or result.scorer_name]), kind=kind,
            description=reason, service=resource[0], environment=resource[1],
            agent=str(agent) if agent is not None else "", agents=agents,
            at=self._clock(), sample_capacity=self.config.recluster_sample_size,
        )
        threshold = self.threshold
        return await self._state.record_failure(
            draft, nearest_behavior(threshold), candidate if similarity >= threshold else None
        )


def _resource_labels(envelope: bytes) -> tuple[str, str]:
    """``service.name`` and ``deployment.environment.name`` of a serialized ``ResourceSpans`` (empty when
    absent or unreadable)."""
    if not envelope:
        return "", ""
    try:
        attributes = ResourceSpans.FromString(envelope).resource.attributes
    except Exception:  # a bad envelope costs the labels, never the placement
        return "", ""
    found = [find_attribute(attributes, key)
             for key in (semconv.SERVICE_NAME, semconv.DEPLOYMENT_ENVIRONMENT_NAME)]
    return str(found[0] or ""), str(found[1] or "")


def _shown(value: Any) -> str:
    return "" if value is None else (value if isinstance(value, str) else repr(value))[:600]
