"""Scoring the spans of one packed queue row, split from :mod:`evaluator_service.dispatcher` along the seam
between walking the queue (the dispatcher) and taking a packed row apart (here).

The spans of a packed row that need no waiting are scored and enriched in place and the row is stored as
one packed row again; the ones that must wait go back to the queue one by one (their inline results and
metrics are dropped: cheap to compute again when their row is read). A span whose stage fails becomes a
dead letter in the row; a row whose enriched spans do not serialize together is encoded span by span.
"""

from __future__ import annotations

import logging
from collections import Counter

from opentelemetry.proto.trace.v1.trace_pb2 import ScopeSpans

from evaluator_service.dead_letters import PackedOriginals, StageFailed, stage
from evaluator_service.packed_spans import pack_spans
from evaluator_service.queue import QueuedSpan, ScoredRow
from evaluator_service.scoring.runner import InlineMeasurement
from evaluator_service.span_scoring import Observation, SpanScoring

logger = logging.getLogger("evaluator_service.dispatcher")  # the dispatcher's log, as before the split


def score_packed_row(
    spans: SpanScoring, row: QueuedSpan, statuses: Counter[str], observed: list[Observation]
) -> ScoredRow:
    """Score the spans of a packed row that need no waiting (their statuses counted in ``statuses``, the
    enriched ones added to ``observed``); the others go back to the queue one by one."""
    try:
        group = ScopeSpans.FromString(row.span)
    except Exception:  # our own bytes: only a damaged queue file gets here
        logger.exception("queued row %d cannot be read; dropping its %d spans", row.id, row.count)
        spans.metrics.dead_lettered("decode", "dropped", row.count)
        return ScoredRow(row, b"", 0)
    originals = PackedOriginals(row.span)
    removed: list[int] = []
    requeue: list[bytes] = []
    for index, span in enumerate(group.spans):
        measurements: list[InlineMeasurement] = []
        try:
            job = spans.begin(span, row.resource, measurements)
            if spans.needs_waiting(job):
                removed.append(index)
                requeue.append(span.SerializeToString())  # begin left it as it arrived
                continue
            spans.runner.record(*measurements)
            statuses[spans.finish(span, job, row.resource, observed)] += 1
        except StageFailed as failed:
            status, data = spans.dead_letter(originals[index], failed, row.resource)
            statuses[status] += 1
            span.Clear()
            if data:
                span.MergeFromString(data)
            else:
                removed.append(index)
    for index in reversed(removed):
        del group.spans[index]
    # A ScopeSpans holding only spans serializes as exactly its packed spans.
    try:
        return ScoredRow(row, group.SerializeToString(), len(group.spans), requeue)
    except Exception:
        return _encode_one_by_one(spans, row, group, originals, removed, requeue)


def _encode_one_by_one(
    spans: SpanScoring, row: QueuedSpan, group: ScopeSpans, originals: PackedOriginals, removed: list[int],
    requeue: list[bytes],
) -> ScoredRow:
    """A packed row whose enriched spans do not serialize together: each span that does not serialize
    alone becomes a dead letter."""
    gone = set(removed)
    kept = [index for index in range(len(group.spans) + len(removed)) if index not in gone]
    encoded: list[bytes] = []
    for span, index in zip(group.spans, kept, strict=True):
        try:
            with stage("encode"):
                encoded.append(span.SerializeToString())
        except StageFailed as failed:
            _, data = spans.dead_letter(originals[index], failed, row.resource)
            if data:
                encoded.append(data)
    return ScoredRow(row, pack_spans(encoded), len(encoded), requeue)
