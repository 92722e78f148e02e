"""The durable queue: every accepted span lives in SQLite until the downstream acknowledged it.

One database file, ``<data_dir>/queue.sqlite3``, in WAL mode with ``synchronous=FULL`` so a committed
transaction survives a power cut. Each row holds span data plus the serialized ``Resource`` and
``InstrumentationScope`` it arrived under (as ``ResourceSpans``/``ScopeSpans`` with their span lists
emptied, which keeps the schema URLs too), and the number of spans it holds (``spans``). The span data is
either one serialized OTLP ``Span`` (``packed = 0``) or a *packed* group of up to ``row_spans`` spans of
one resource and scope that arrived or were scored together: the bytes of a ``ScopeSpans``
holding just those spans, i.e. one length-delimited ``spans`` field per span (``packed = 1``, see
:func:`pack_spans`). Packing makes a group of spans cost one row to insert, read and delete instead of one
each, and the forwarder copies the bytes into its request as they are. Queue limits, ``span_count`` and
metrics count spans, never rows. A row is in one of two states:

* ``SCORE`` — tagged spans waiting for the dispatcher. In one transaction the dispatcher stores the enriched
  spans of a batch as packed ``EXPORT`` rows and deletes their ``SCORE`` rows; spans of a packed row that
  must wait (an LLM judge, a sandboxed scorer, ...) go back to the queue as ``SCORE`` rows of one span each.
* ``EXPORT`` — waiting for the forwarder, which deletes the row only after the downstream answered OK.

That gives at-least-once delivery: a crash between the downstream's OK and the delete re-sends the span
after restart. Pauses and uploaded scorers are shared state and live in :mod:`evaluator_service.state`
instead.

Modules, along the seams of the queue: :mod:`~evaluator_service.queue.rows` (what a row holds, how spans
become rows), :mod:`~evaluator_service.queue.schema` (the file's SQL), :mod:`~evaluator_service.queue.limits`
(what it refuses: limits and free disk space), :mod:`~evaluator_service.queue.span_queue` (the file and its
async facade, :class:`SpanQueue`).
"""

from evaluator_service.local_sqlite import is_disk_full
from evaluator_service.packed_spans import pack_spans
from evaluator_service.queue.limits import (
    DISK_FULL_RETRY_S,
    MIN_FREE_BYTES,
    BatchTooLargeError,
    DiskFullError,
    QueueFullError,
)
from evaluator_service.queue.rows import (
    MAX_ROW_BYTES,
    ROW_SPANS,
    NewSpan,
    NewSpanGroup,
    QueuedSpan,
    ScoredRow,
    SpanState,
    span_groups,
)
from evaluator_service.queue.span_queue import DB_FILE_NAME, SpanQueue, data_dir_problem

__all__ = [
    "DB_FILE_NAME",
    "DISK_FULL_RETRY_S",
    "MAX_ROW_BYTES",
    "MIN_FREE_BYTES",
    "ROW_SPANS",
    "BatchTooLargeError",
    "DiskFullError",
    "NewSpan",
    "NewSpanGroup",
    "QueueFullError",
    "QueuedSpan",
    "ScoredRow",
    "SpanQueue",
    "SpanState",
    "data_dir_problem",
    "is_disk_full",
    "pack_spans",
    "span_groups",
]
