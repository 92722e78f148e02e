"""The scoring dispatcher's behavior hook: put a failing span into a behavior, say what to write on the span.

::

    grouper = BehaviorGrouper(config.behaviors, state, metrics)
    await grouper.start()                       # loads the shared behaviors, polls for changes
    attributes = await grouper.assign(span, requests, results)   # after scoring, before enrichment
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
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from judgeval import semconv
from judgeval.protocol.evaluation_request import EvaluationRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from evaluator_service.behaviors.embedding import Embedder, create_embedder
from evaluator_service.behaviors.matching import nearest_behavior
from evaluator_service.behaviors.naming import BehaviorNamer
from evaluator_service.behaviors.settings import BehaviorsConfig
from evaluator_service.behaviors.text import failure_text, salient_name
from evaluator_service.behaviors.vectors import nearest
from evaluator_service.metrics import EvaluatorMetrics
from evaluator_service.scoring.contract import ScoreResult
from evaluator_service.state import ChangeWatcher, SharedState
from evaluator_service.state.behavior_rows import BehaviorExample, FailureDraft, StoredBehavior

logger = logging.getLogger(__name__)


class BehaviorGrouper:
    """Assigns failing spans to behaviors shared through ``state``."""

    def __init__(self, config: BehaviorsConfig, state: SharedState, metrics: EvaluatorMetrics) -> None:
        self.config = config
        self._state = state
        self._metrics = metrics
        self._embedder: Embedder = create_embedder(config.embedding, config.timeout_s)
        self.namer = BehaviorNamer(config.naming, state) if config.naming.model else None
        self._index: dict[str, StoredBehavior] = {}
        self._watcher = ChangeWatcher(state, self.refresh)
        self._placements: set[asyncio.Task[tuple[StoredBehavior, bool]]] = set()

    async def start(self) -> None:
        """Load the shared behaviors and start following other replicas' changes."""
        await self._watcher.check()
        self._watcher.start()

    async def refresh(self) -> None:
        """Reload the in-memory index from the shared state."""
        self._index = {b.id: b for b in await self._state.behaviors()}

    async def stop(self) -> None:
        """Stop polling, cancel unfinished placements and naming, close model clients."""
        await self._watcher.stop()
        for task in list(self._placements):
            task.cancel()
        await asyncio.gather(*self._placements, return_exceptions=True)
        if self.namer is not None:
            await self.namer.aclose()
        await self._embedder.aclose()

    async def assign(self, span: Span, requests: Sequence[EvaluationRequest],
                     results: Sequence[ScoreResult]) -> dict[str, Any]:
        """Assign ``span`` (scored with ``results``, not yet enriched) to a behavior if a score failed;
        returns the behavior attributes to write onto it (none if no score failed or placement failed)."""
        failed = next(((req, res) for req, res in zip(requests, results, strict=False)
                       if res.failed), None)
        if failed is None:
            return {}
        request, result = failed
        task = asyncio.get_running_loop().create_task(self._place(span, request, result))
        self._placements.add(task)
        task.add_done_callback(self._placed)
        try:
            behavior, new = await asyncio.wait_for(asyncio.shield(task), self.config.timeout_s)
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
        }

    def _placed(self, task: asyncio.Task[tuple[StoredBehavior, bool]]) -> None:
        self._placements.discard(task)
        if task.cancelled() or task.exception() is not None:
            return  # reported by assign (or the evaluator is stopping)
        behavior, new = task.result()
        self._index[behavior.id] = behavior
        self._metrics.behavior_assigned(behavior.id, behavior.scorer, new)
        if new and self.namer is not None:
            self.namer.name_later(behavior)

    async def _place(self, span: Span, request: EvaluationRequest, result: ScoreResult
                     ) -> tuple[StoredBehavior, bool]:
        reason = result.outcome.reason if result.outcome is not None else ""
        text = failure_text(result.scorer_name, reason or "", request.example, self.config.fields)
        vector = await self._embedder.embed(text)
        same_scorer = [(b.id, b.centroid) for b in self._index.values()
                       if b.scorer == result.scorer_name and b.space == self._embedder.space]
        candidate, similarity = nearest(vector, same_scorer)
        draft = FailureDraft(
            scorer=result.scorer_name, space=self._embedder.space, vector=vector,
            example=BehaviorExample(span.trace_id.hex(), span.span_id.hex(), text),
            provisional_name=salient_name([reason or result.scorer_name]),
        )
        threshold = self.config.similarity_threshold
        return await self._state.record_failure(
            draft, nearest_behavior(threshold), candidate if similarity >= threshold else None
        )
