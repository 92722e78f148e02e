"""Records what the console reads, off the scoring path: counters summed in memory, flushed every few seconds.

:class:`ConsoleRecorder` is an interaction sink (``app.interactions.sinks``: every scored span's and every
trajectory result's records) and an unscored-span observer of the dispatcher (spans whose requests cannot be
read, dead letters). Both calls only add to in-memory counters and lists and return; a background task adds
them to the state database every ``flush_interval_s`` with additive upserts
(:meth:`~evaluator_service.state.console_rows.ConsoleRowState.write_console_data`), so replicas sharing one
PostgreSQL database add to the same rollups, and applies the retention every ``prune_interval_s``.

What is recorded, for each result: a rollup count (minute and hour buckets x scorer x agent x service x
environment: scores, passes, failures, errors, the value sum and histogram, latency and cost where known);
for a failing or errored result, the record itself (the failing-interaction list); for a result without a
score, a not-evaluated count by reason and a sample. A flush the database refuses is kept and retried with
the next one; failing records and samples beyond ``max_pending`` are not kept: logged and counted in
:attr:`ConsoleRecorder.dropped` (their counters still count them).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from judgeval import semconv
from judgeval.protocol.interaction_record import InteractionRecord
from judgeval.protocol.otlp_values import attributes_dict
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, Span

from evaluator_service.background_loop import BackgroundLoop
from evaluator_service.console.bounds import MAX_DIMENSION_CHARS, OTHER, bounded_record
from evaluator_service.console.settings import GRANULARITIES, ConsoleDataConfig
from evaluator_service.metrics import METER_NAME, EvaluatorMetrics
from evaluator_service.state.console_rows import (
    ConsoleRetention,
    ConsoleRowState,
    ConsoleWrites,
    NotEvaluatedKey,
    NotEvaluatedSample,
    RollupKey,
    RollupSums,
)
from evaluator_service.state.contract import StateUnavailable

logger = logging.getLogger(__name__)
T = TypeVar("T")

MAX_DETAIL_CHARS = 500
"""A not-evaluated sample's detail is cut to this length."""


class ConsoleRecorder:
    """Sums the console's counters in memory and flushes them to the shared state."""

    def __init__(self, config: ConsoleDataConfig, state: ConsoleRowState,
                 clock: Callable[[], float] = time.time, metrics: EvaluatorMetrics | None = None) -> None:
        self.config = config
        provider = metrics.provider if metrics is not None and metrics.recording else NoOpMeterProvider()
        meter = provider.get_meter(METER_NAME)
        self._flushes = meter.create_counter(semconv.METRIC_CONSOLE_FLUSHES, "{flush}",
                                             "Console data flushes to the state database, by outcome")
        self._dropped = meter.create_counter(semconv.METRIC_CONSOLE_DROPPED, "{record}",
                                             "Failing records and not-evaluated samples not kept")
        self._state = state
        self._clock = clock
        self._rollups: dict[RollupKey, RollupSums] = {}
        self._not_evaluated: dict[NotEvaluatedKey, int] = {}
        self._failing: list[InteractionRecord] = []
        self._samples: list[NotEvaluatedSample] = []
        self._loop = BackgroundLoop("judgeval-console-recorder", self._flush_forever)
        self._flush_lock = asyncio.Lock()
        self._last_prune = float("-inf")
        self.dropped = 0
        """Failing records and samples not kept (``max_pending`` were already waiting, or a flush failed)."""
        self.flush_failures = 0
        """Flushes that wrote nothing: refused by the database (data kept for the next) or failed."""
        self.folded = 0
        """Results counted under :data:`~evaluator_service.console.bounds.OTHER` (too many distinct keys)."""

    # -- recording (called on the event loop, returns at once) --

    def record_interactions(self, records: Sequence[InteractionRecord]) -> None:
        """The interaction sink: count each result, keep failing and errored ones."""
        for record in records:
            record = bounded_record(record, self.config.max_field_chars)
            for granularity in GRANULARITIES:
                key = RollupKey(granularity, _bucket(record.at, granularity), record.scorer, record.agent,
                                record.service, record.environment)
                sums = self._rollups.get(key)
                if sums is None:
                    if len(self._rollups) >= self.config.max_rollup_keys:
                        key = self._folded(key)
                        sums = self._rollups.get(key)
                    if sums is None:
                        sums = self._rollups[key] = RollupSums()
                sums.add_record(record)
            if record.score is None:
                self._count_not_evaluated(NotEvaluatedSample(
                    record.trace_id, record.span_id, record.scorer, record.error_kind or "error", record.at,
                    record.reason[:MAX_DETAIL_CHARS], record.service, record.agent))
            if record.passed is not True:
                self._keep(self._failing, record)

    def _folded(self, key: RollupKey) -> RollupKey:
        self.folded += 1
        if self.folded == 1 or self.folded % 10_000 == 0:
            logger.warning("console data: %d results counted under %r: more than console_data.max_rollup_keys"
                           "=%d distinct scorer/agent/service/environment keys in one flush interval",
                           self.folded, OTHER, self.config.max_rollup_keys)
        return RollupKey(key.granularity, key.bucket, OTHER, OTHER, OTHER, OTHER)

    def record_unscored(self, span: Span, resource: bytes, reason: str, detail: str) -> None:
        """The dispatcher's unscored-span observer: a span that gets no result at all."""
        attributes = (attributes_dict(ResourceSpans.FromString(resource).resource.attributes) if resource
                      else {})
        agent = attributes_dict(span.attributes).get(semconv.GEN_AI_AGENT_NAME,
                                                     attributes.get(semconv.GEN_AI_AGENT_NAME, ""))
        self._count_not_evaluated(NotEvaluatedSample(
            span.trace_id.hex(), span.span_id.hex(), "", reason, self._clock(), detail[:MAX_DETAIL_CHARS],
            str(attributes.get(semconv.SERVICE_NAME, ""))[:MAX_DIMENSION_CHARS],
            str(agent or "")[:MAX_DIMENSION_CHARS]))

    def _count_not_evaluated(self, sample: NotEvaluatedSample) -> None:
        for granularity in GRANULARITIES:
            key = NotEvaluatedKey(granularity, _bucket(sample.at, granularity),
                                  sample.reason[:MAX_DIMENSION_CHARS], sample.scorer, sample.service)
            if key not in self._not_evaluated and len(self._not_evaluated) >= self.config.max_rollup_keys:
                self.folded += 1
                key = NotEvaluatedKey(key.granularity, key.bucket, OTHER, OTHER, OTHER)
            self._not_evaluated[key] = self._not_evaluated.get(key, 0) + 1
        self._keep(self._samples, sample)

    def _keep(self, into: list[T], item: T) -> None:
        if len(self._failing) + len(self._samples) >= self.config.max_pending:
            self.dropped += 1
            self._dropped.add(1)
            if self.dropped == 1 or self.dropped % 1000 == 0:
                logger.warning("console data: %d failing interactions/samples not kept (console_data."
                               "max_pending=%d waiting for the state database)", self.dropped,
                               self.config.max_pending)
            return
        into.append(item)

    # -- flushing --

    async def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        """Stop the background task and flush what is left (a refused final flush is logged)."""
        await self._loop.stop()
        await self.flush()

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(self.config.flush_interval_s)
            await self.flush()
            if self._clock() - self._last_prune >= self.config.prune_interval_s:
                await self.prune()

    async def flush(self) -> bool:
        """Write what was recorded since the last flush; ``False`` (data kept for the next one) when the
        database refuses."""
        async with self._flush_lock:
            writes = ConsoleWrites(self._rollups, self._failing, self._not_evaluated, self._samples)
            if not (writes.rollups or writes.failing or writes.not_evaluated or writes.samples):
                return True
            self._rollups, self._failing, self._not_evaluated, self._samples = {}, [], {}, []
            try:
                await self._state.write_console_data(writes)
            except StateUnavailable as exc:
                self._flushed("kept")
                logger.warning("console data not flushed, kept for the next flush: %s", exc)
                self._put_back(writes)
                return False
            except Exception:  # a bug, not an outage: retrying the same rows would fail every flush
                self._flushed("failed")
                lost = len(writes.failing) + len(writes.samples)
                self.dropped += lost
                self._dropped.add(lost)
                logger.exception("console data flush failed; its %d failing records and samples are lost",
                                 lost)
                return False
            self._flushed("written")
            return True

    def _flushed(self, outcome: str) -> None:
        if outcome != "written":
            self.flush_failures += 1
        self._flushes.add(1, {semconv.CONSOLE_METRIC_LABEL_OUTCOME: outcome})

    def _put_back(self, writes: ConsoleWrites) -> None:
        for key, sums in writes.rollups.items():
            self._rollups.setdefault(key, RollupSums()).add(sums)
        for ne_key, count in writes.not_evaluated.items():
            self._not_evaluated[ne_key] = self._not_evaluated.get(ne_key, 0) + count
        newer_failing, newer_samples = self._failing, self._samples
        self._failing, self._samples = [], []
        for record in [*writes.failing, *newer_failing]:
            self._keep(self._failing, record)
        for sample in [*writes.samples, *newer_samples]:
            self._keep(self._samples, sample)

    async def prune(self) -> None:
        """Apply the retention (``console_data``'s ages and counts)."""
        now = self._clock()
        self._last_prune = now
        c = self.config
        retention = ConsoleRetention(
            before_by_granularity={g: _bucket(now - c.retention_of(g), g) for g in GRANULARITIES},
            failing_before=now - c.failing_max_age_s, failing_keep=c.failing_max_rows,
            samples_before=now - c.not_evaluated_max_age_s, samples_keep=c.not_evaluated_max_samples)
        try:
            await self._state.prune_console_data(retention)
        except StateUnavailable as exc:
            logger.warning("console data retention not applied (retried in %gs): %s", c.prune_interval_s, exc)


def _bucket(at: float, granularity: int) -> int:
    return int(at // granularity) * granularity
