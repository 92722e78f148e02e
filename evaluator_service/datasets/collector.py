"""The interaction sink that fills datasets by rule: select, queue, redact, write in batches, apply retention.

::

    collector = DatasetCollector(config.datasets, state, metrics)
    app.interactions.sinks.append(collector.sink)  # told each stored span's records; returns at once
    await collector.start()                         # creates the rules' datasets, starts writer, retention
    ...
    await collector.stop()                          # writes what is queued (within the grace), then stops

:meth:`DatasetCollector.sink` only matches and queues; the writer task redacts (off the scoring path,
before anything is stored). The queue is bounded by ``queue_size``: a record arriving at a full queue is
counted (``judgeval.datasets.records{outcome=dropped,reason=queue_full}``) and logged (throttled), never
silently lost. The writer takes up to ``batch_size`` records, groups them by dataset and stores each group
in one transaction (one new version). When a batch fails, its records are written one by one so one bad
record fails alone (``reason=write_failed``); when every one fails the database is asked a plain read: if
it does not answer either, it is down and the batch waits at the head of the queue for the next attempt;
if it answers, the records themselves were refused and are dropped, counted.
Retention runs every ``retention_interval_s`` for every dataset with a retention setting (the rules' and
those set through the admin API).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from judgeval.protocol.interaction_record import InteractionRecord
from judgeval.protocol.sampling import is_sampled

from evaluator_service.datasets.counters import DatasetCounters
from evaluator_service.datasets.redaction import Redactor
from evaluator_service.datasets.settings import ANY_BEHAVIOR, DatasetRule, DatasetsConfig
from evaluator_service.log_throttle import LogThrottle, suppressed_note
from evaluator_service.metrics import EvaluatorMetrics
from evaluator_service.state.contract import StateUnavailable
from evaluator_service.state.dataset_rows import DatasetSettings, DatasetState

logger = logging.getLogger(__name__)

RETRY_AFTER_S = 2.0
"""Pause after a batch found the database unavailable."""


def rule_selects(rule: DatasetRule, record: InteractionRecord) -> bool:
    """Whether ``rule`` keeps ``record`` (its outcome, scorer, behavior, origin and sampled share)."""
    if rule.scorers and record.scorer not in rule.scorers:
        return False
    outcome = "error" if record.passed is None else ("passed" if record.passed else "failed")
    if rule.outcome != "any" and rule.outcome != outcome:
        return False
    if rule.behaviors and not (record.behavior_id is not None and (
            ANY_BEHAVIOR in rule.behaviors or record.behavior_id in rule.behaviors)):
        return False
    for wanted, have in ((rule.services, record.service), (rule.agents, record.agent),
                         (rule.environments, record.environment)):
        if wanted and have not in wanted:
            return False
    if rule.sample >= 1.0:
        return True
    try:
        return is_sampled(int(record.trace_id, 16), rule.sample)
    except ValueError:  # not hex: a record of our own making always has a hex id; keep nothing unsure
        return False


@dataclass(frozen=True, slots=True)
class _Queued:
    dataset: str
    record: InteractionRecord
    redactor: Redactor | None
    """Still to apply (off the scoring path, by the writer); ``None`` once the record is redacted."""


class DatasetCollector:
    """Fills datasets from scored interactions according to ``config.rules`` (see the module doc)."""

    def __init__(self, config: DatasetsConfig, state: DatasetState, metrics: EvaluatorMetrics, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self._state = state
        self._clock = clock
        self._queue: deque[_Queued] = deque()
        self.counters = DatasetCounters(metrics, lambda: len(self._queue))
        base = Redactor.of(config)
        self.redactor = base
        """What imports through the admin API are redacted with (the section's patterns)."""
        self._rules = [(rule, base.with_patterns(rule.redaction)) for rule in config.rules]
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._tasks: list[asyncio.Task[None]] = []
        self._log = LogThrottle(interval_s=30.0)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False

    @property
    def queued(self) -> int:
        return len(self._queue)

    def sink(self, records: Sequence[InteractionRecord]) -> None:
        """An :data:`~evaluator_service.interactions.InteractionSink`: queue what the rules select."""
        for record in records:
            for rule, redactor in self._rules:
                if not rule_selects(rule, record):
                    continue
                if len(self._queue) >= self.config.queue_size:
                    self.counters.records(rule.dataset, "dropped", reason="queue_full")
                    self._warn("queue_full", f"dataset write queue full ({self.config.queue_size} records): "
                                             f"dropped a record for dataset {rule.dataset!r}")
                    continue
                self._queue.append(_Queued(rule.dataset, record, redactor))
        if self._queue:
            self._idle.clear()
            self._signal()

    async def start(self) -> None:
        """Create (or update the settings of) the rules' datasets, then start the writer and retention."""
        self._loop = asyncio.get_running_loop()
        now = self._clock()
        for rule in {r.dataset: r for r, _ in self._rules}.values():
            settings = DatasetSettings(rule.description, rule.max_examples, rule.max_age_s)
            await self._state.ensure_dataset(rule.dataset, settings, now)
        self._tasks = [asyncio.create_task(self._write_loop(), name="judgeval-datasets-writer"),
                       asyncio.create_task(self._retention_loop(), name="judgeval-datasets-retention")]

    async def flush(self) -> None:
        """Wait until every record queued so far is written (or dropped)."""
        self._signal()
        await self._idle.wait()

    async def stop(self, grace: float = 5.0) -> None:
        """Write what is queued within ``grace`` seconds, then stop; what is left is counted as dropped."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(0.0, grace)):
                await self.flush()
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        while self._queue:
            left = self._queue.popleft()
            self.counters.records(left.dataset, "dropped", reason="shutdown")

    async def apply_retention(self) -> None:
        """One retention pass over every dataset with a retention setting."""
        now = self._clock()
        for info in await self._state.datasets():
            if info.max_examples is None and info.max_age_s is None:
                continue
            change = await self._state.apply_dataset_retention(info.name, now)
            if change.removed:
                logger.info("dataset %s: retention removed %d examples (version %d)", info.name,
                            change.removed, change.version)

    def _signal(self) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if self._loop is not None and running is not self._loop:
            self._loop.call_soon_threadsafe(self._wake.set)
        else:
            self._wake.set()

    async def _write_loop(self) -> None:
        while not self._stopping:
            if not self._queue:
                self._idle.set()
                self._wake.clear()
                # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation that arrives
                # just as the event is set, and the writer would outlive stop()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.config.flush_interval_s):
                        await self._wake.wait()
                continue
            if len(self._queue) < self.config.batch_size and not self._idle.is_set():
                await asyncio.sleep(0)  # let a burst of spans finish queuing into one batch
            batch = [self._redacted(self._queue.popleft())
                     for _ in range(min(len(self._queue), self.config.batch_size))]
            if not await self._write(batch):
                self._queue.extendleft(reversed(batch))
                await asyncio.sleep(RETRY_AFTER_S)

    def _redacted(self, item: _Queued) -> _Queued:
        if item.redactor is None:
            return item
        clean, counts = item.redactor.record(item.record)
        for pattern, count in counts.items():
            self.counters.redactions(pattern, count)
        return _Queued(item.dataset, clean, None)

    async def _write(self, batch: list[_Queued]) -> bool:
        """Store ``batch``; ``False`` when the database is down (nothing stored, retry later)."""
        groups: dict[str, list[InteractionRecord]] = {}
        for item in batch:
            groups.setdefault(item.dataset, []).append(item.record)
        for dataset, records in list(groups.items()):
            try:
                change = await self._state.add_dataset_examples(dataset, records, self._clock(), note="rule")
            except StateUnavailable as exc:
                if not await self._write_singly(dataset, records):
                    self._warn("unavailable", f"datasets: cannot write, will retry: {exc}")
                    # the groups already written stay written; only the rest is retried
                    batch[:] = [item for item in batch if item.dataset in groups]
                    return False
            else:
                self.counters.records(dataset, "added", change.added)
                self.counters.records(dataset, "unchanged", change.unchanged)
            del groups[dataset]
        return True

    async def _write_singly(self, dataset: str, records: list[InteractionRecord]) -> bool:
        """One record per transaction; ``False`` (nothing written) when every one failed and the database
        does not answer either (it is down, not the records)."""
        failed, last = 0, None
        for record in records:
            try:
                change = await self._state.add_dataset_examples(dataset, [record], self._clock(), note="rule")
            except StateUnavailable as exc:
                failed, last = failed + 1, exc
                continue
            self.counters.records(dataset, "added", change.added)
            self.counters.records(dataset, "unchanged", change.unchanged)
        if failed == len(records) and not await self._answers():
            return False  # the database is down: keep the batch for the next attempt
        if failed:
            self.counters.records(dataset, "dropped", failed, reason="write_failed")
            logger.warning("dataset %s: %d records refused by the database and dropped: %s", dataset, failed,
                           last)
        return True

    async def _answers(self) -> bool:
        """Whether the database answers a read: if so, records it refused were refused for themselves."""
        try:
            await self._state.datasets()
        except StateUnavailable:
            return False
        return True

    async def _retention_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.retention_interval_s)
            try:
                await self.apply_retention()
            except StateUnavailable as exc:
                self._warn("retention", f"datasets: retention skipped: {exc}")

    def _warn(self, key: str, message: str) -> None:
        suppressed = self._log.admit(key)
        if suppressed is not None:
            logger.warning("%s%s", message, suppressed_note(suppressed))
