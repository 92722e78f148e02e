"""Fitting queued spans into re-export requests no larger than the downstream takes.

The forwarder sends what one read of the queue gave it as requests of at most ``max_bytes`` (the configured
``export.max_request_bytes``, lowered when the downstream says its own limit in a ``RESOURCE_EXHAUSTED``,
see :func:`learned_limit`). :func:`plan_requests` groups queued rows into such requests, splitting a packed
row into its spans where it must (at field boundaries, without parsing a span). A single span that can never
fit is *trimmed* (:func:`trim_span`): its longest attribute values are cut, then, if that is not enough,
its events, links and non-``judgeval.*`` attributes are dropped (counted in the span's ``dropped_*`` fields),
and it is marked with ``judgeval.eval.trimmed`` (its size before). A span that does not fit even then is
a dead letter: logged, counted and left out, never holding the spans behind it.

Sizes are upper bounds of what :func:`~evaluator_service.forwarder.encode_request` makes of the parts: every
part is counted with its own resource and scope envelopes, as if it shared them with no other part.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from judgeval import semconv
from judgeval.protocol.otlp_values import set_attributes
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from evaluator_service.packed_spans import pack_spans
from evaluator_service.queue import QueuedSpan

logger = logging.getLogger(__name__)

GRPC_DEFAULT_MAX_BYTES = 4 * 1024 * 1024
"""gRPC's default receive limit, which many backends (and the collector's OTLP receiver) keep."""

MIN_REQUEST_BYTES = 64 * 1024
"""The smallest request limit the forwarder configures or learns."""

TRIM_MARK = "...[trimmed]"
"""Appended to every attribute value :func:`trim_span` cuts."""

_PART_OVERHEAD = 16
"""Wire tags and length varints a part adds around its envelopes and spans (generously)."""

_MIN_CUT = 64
"""Values are never cut below this many characters (or bytes)."""

_LIMIT_IN_DETAIL = re.compile(r"larger than max \((\d+) vs\. (\d+)\)")


@dataclass
class RequestPlan:
    """Requests to send (lists of parts, each a packed run of spans of one queued row), the number of spans
    that were trimmed to fit and of those dropped because they cannot fit at all."""

    requests: list[list[QueuedSpan]] = field(default_factory=list)
    trimmed: int = 0
    dropped: int = 0


def part_size(part: QueuedSpan) -> int:
    """An upper bound of what one part adds to an encoded request."""
    return len(part.span) + len(part.resource) + len(part.scope) + _PART_OVERHEAD


def plan_requests(rows: Sequence[QueuedSpan], max_bytes: int) -> RequestPlan:
    """Group ``rows`` (queued rows or parts of them) into requests of at most ``max_bytes``, in order."""
    plan = RequestPlan()
    current: list[QueuedSpan] = []
    size = 0
    for part in _parts(rows, max_bytes, plan):
        if current and size + part_size(part) > max_bytes:
            plan.requests.append(current)
            current, size = [], 0
        current.append(part)
        size += part_size(part)
    if current:
        plan.requests.append(current)
    return plan


def _parts(rows: Sequence[QueuedSpan], max_bytes: int, plan: RequestPlan) -> Iterator[QueuedSpan]:
    for row in rows:
        if part_size(row) <= max_bytes:
            yield row
            continue
        for span in _spans_of(row):
            part = QueuedSpan(row.id, row.resource, row.scope, pack_spans([span]), 1, packed=True)
            if part_size(part) <= max_bytes:
                yield part
                continue
            budget = max_bytes - (part_size(part) - len(span)) - 8  # room for a longer length varint
            trimmed = trim_span(span, budget)
            if trimmed is None:
                plan.dropped += 1
                logger.error("a %d-byte span cannot fit a %d-byte request even trimmed; dropping it",
                             len(span), max_bytes)
                continue
            plan.trimmed += 1
            logger.warning("a %d-byte span exceeds the %d-byte request limit; exported trimmed to %d bytes",
                           len(span), max_bytes, len(trimmed))
            yield QueuedSpan(row.id, row.resource, row.scope, pack_spans([trimmed]), 1, packed=True)


def _spans_of(row: QueuedSpan) -> Iterator[bytes]:
    """The serialized spans of a row: the one span, or each ``spans`` field of a packed row (read by
    their wire tags and lengths, see :func:`~evaluator_service.packed_spans.pack_spans`)."""
    if not row.packed:
        yield row.span
        return
    data, at = row.span, 0
    while at < len(data):
        at += 1  # the tag of ScopeSpans.spans
        length = shift = 0
        while True:
            byte = data[at]
            at += 1
            length |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                break
        yield data[at:at + length]
        at += length


def trim_span(span_bytes: bytes, budget: int) -> bytes | None:
    """``span_bytes`` cut down to at most ``budget`` bytes and marked, or ``None`` if it cannot be."""
    span = Span.FromString(span_bytes)
    original = len(span_bytes)
    values = list(_text_values(span))
    cut = max(len(_payload(v)) for v in values) if values else 0
    while cut > _MIN_CUT:
        cut //= 2
        for value in values:
            _cut(value, cut)
        if _marked_size(span, original) <= budget:
            return _marked(span, original)
    _keep_only_our_attributes(span)
    return _marked(span, original) if _marked_size(span, original) <= budget else None


def _marked(span: Span, original: int) -> bytes:
    set_attributes(span, {semconv.JUDGEVAL_EVAL_TRIMMED: original})
    return span.SerializeToString()


def _marked_size(span: Span, original: int) -> int:
    return span.ByteSize() + len(semconv.JUDGEVAL_EVAL_TRIMMED) + 16


def _keep_only_our_attributes(span: Span) -> None:
    """The last resort: no events or links, only ``judgeval.*`` attributes (routing and scores)."""
    span.dropped_events_count += len(span.events)
    span.dropped_links_count += len(span.links)
    del span.events[:]
    del span.links[:]
    ours = [kv for kv in span.attributes if kv.key.startswith("judgeval.")]
    span.dropped_attributes_count += len(span.attributes) - len(ours)
    kept = [KeyValue(key=kv.key, value=kv.value) for kv in ours]
    del span.attributes[:]
    span.attributes.extend(kept)


def _text_values(span: Span) -> Iterator[AnyValue]:
    """Every string and bytes value of the span's, its events' and its links' attributes."""
    events = (event.attributes for event in span.events)
    for attributes in [span.attributes, *events, *(link.attributes for link in span.links)]:
        for kv in attributes:
            yield from _texts_in(kv.value)


def _texts_in(value: AnyValue) -> Iterator[AnyValue]:
    kind = value.WhichOneof("value")
    if kind in ("string_value", "bytes_value"):
        yield value
    elif kind == "array_value":
        for item in value.array_value.values:
            yield from _texts_in(item)
    elif kind == "kvlist_value":
        for kv in value.kvlist_value.values:
            yield from _texts_in(kv.value)


def _payload(value: AnyValue) -> str | bytes:
    return value.string_value if value.WhichOneof("value") == "string_value" else value.bytes_value


def _cut(value: AnyValue, limit: int) -> None:
    if value.WhichOneof("value") == "string_value":
        if len(value.string_value) > limit:
            value.string_value = value.string_value[:limit] + TRIM_MARK
    elif len(value.bytes_value) > limit:
        value.bytes_value = value.bytes_value[:limit]


def learned_limit(detail: str, request_bytes: int) -> int | None:
    """The request limit a ``RESOURCE_EXHAUSTED`` answer to a ``request_bytes`` request names (gRPC's
    "received message larger than max (N vs. M)"), or ``None`` when it names none: then it means something
    else (e.g. a rate limit) and is retried like any failure."""
    match = _LIMIT_IN_DETAIL.search(detail)
    if match is None:
        return None
    limit = int(match.group(2))
    if limit >= request_bytes:  # the named limit does not explain this refusal: make progress anyway
        limit = request_bytes // 2
    return max(MIN_REQUEST_BYTES, limit)
