"""The ``judgeval.admin.v1.Datasets`` gRPC service: list, read, import into, trim and delete datasets.

Answers straight from the shared state database, so every replica gives the same answer. Authenticated
exactly like ``ScorerAdmin`` (:class:`~evaluator_service.admin.auth.AdminAuth`). Imported records are
redacted with the same patterns as rule-collected ones before they are stored. A database outage is
``UNAVAILABLE``, an unknown dataset or version ``NOT_FOUND``, a malformed name or record
``INVALID_ARGUMENT`` naming it (a bad record rejects the whole import: nothing half-imported).

``AddTrace`` rebuilds a trace's records from a trace backend through the ``trace_records`` callable the
evaluator was given (``None``: ``FAILED_PRECONDITION`` naming the setting).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from judgeval.admin.v1 import datasets_pb2 as pb
from judgeval.admin.v1 import datasets_pb2_grpc as pb_grpc
from judgeval.protocol.dataset_ref import dataset_name_problem
from judgeval.protocol.interaction_record import InteractionRecord, InvalidInteractionRecord

from evaluator_service.admin.auth import AdminAuth
from evaluator_service.datasets.counters import DatasetCounters
from evaluator_service.datasets.page_token import BadPageToken, continued_read, page_token
from evaluator_service.datasets.redaction import Redactor
from evaluator_service.datasets.trace_records import TraceRecords
from evaluator_service.state import SharedState, StateUnavailable
from evaluator_service.state.dataset_rows import (
    MAX_EXAMPLES_PER_PAGE,
    DatasetChange,
    DatasetInfo,
    DatasetSettings,
    ExampleFilter,
    UnknownDataset,
)

_PURPOSE = "the datasets API"
TRACE_ID_HEX = 32
T = TypeVar("T")

class DatasetsServicer(pb_grpc.DatasetsServicer):
    """Async servicer over the datasets of a :class:`~evaluator_service.state.SharedState`."""

    def __init__(self, state: SharedState, auth: AdminAuth | str | None, redactor: Redactor, *,
                 trace_records: TraceRecords | None = None, counters: DatasetCounters | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self._state = state
        self._auth = AdminAuth.of(auth)
        self._redactor = redactor
        self._trace_records = trace_records
        self._counters = counters
        self._clock = clock

    async def ListDatasets(self, request: pb.ListDatasetsRequest, context: grpc.aio.ServicerContext
                           ) -> pb.ListDatasetsResponse:
        await self._auth.authorize(context, _PURPOSE)
        found = await _answer(context, self._state.datasets())
        return pb.ListDatasetsResponse(datasets=[_dataset(info) for info in found])

    async def GetDataset(self, request: pb.GetDatasetRequest, context: grpc.aio.ServicerContext
                         ) -> pb.Dataset:
        await self._auth.authorize(context, _PURPOSE)
        await _check_name(context, request.name)
        info = await _answer(context, self._state.dataset(request.name, request.version or None))
        message = _dataset(info)
        for v in await _answer(context, self._state.dataset_versions(request.name)):
            message.versions.add(version=v.version, at=_timestamp(v.at), added=v.added, removed=v.removed,
                                 note=v.note)
        return message

    async def ListExamples(self, request: pb.ListExamplesRequest, context: grpc.aio.ServicerContext
                           ) -> pb.ListExamplesResponse:
        await self._auth.authorize(context, _PURPOSE)
        await _check_name(context, request.name)
        if not 0 <= request.limit <= MAX_EXAMPLES_PER_PAGE:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                f"limit must be 0 to {MAX_EXAMPLES_PER_PAGE}, got {request.limit}")
        if request.outcome not in ("", "passed", "failed", "error"):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                f"outcome must be passed, failed or error, got {request.outcome!r}")
        try:
            version, after = continued_read(request.version, request.page_token)
        except BadPageToken as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        where = ExampleFilter(request.scorer or None, request.outcome or None, request.behavior_id or None)
        page = await _answer(context, self._state.dataset_examples(
            request.name, version, after=after, limit=request.limit or 100, where=where))
        return pb.ListExamplesResponse(
            version=page.version, next_page_token=page_token(page.version, page.next_after),
            examples=[pb.Example(record_json=json.dumps(e.record.to_json(), sort_keys=True),
                                 added_version=e.added_version, removed_version=e.removed_version or 0)
                      for e in page.examples])

    async def AddRecords(self, request: pb.AddRecordsRequest, context: grpc.aio.ServicerContext
                         ) -> pb.DatasetChange:
        await self._auth.authorize(context, _PURPOSE)
        await _check_name(context, request.name)
        records = []
        for index, text in enumerate(request.records_json):
            try:
                records.append(InteractionRecord.from_json(json.loads(text)))
            except json.JSONDecodeError as exc:
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                    f"records_json[{index}]: not JSON ({exc.msg} at character {exc.pos})")
            except InvalidInteractionRecord as exc:
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"records_json[{index}]: {exc}")
        if request.description:
            await self._describe(context, request.name, request.description)
        _, change, redactions = await self._add(context, request.name, records, "import")
        return _change(change, redactions)

    async def RemoveExamples(self, request: pb.RemoveExamplesRequest, context: grpc.aio.ServicerContext
                             ) -> pb.DatasetChange:
        await self._auth.authorize(context, _PURPOSE)
        await _check_name(context, request.name)
        change = await _answer(context, self._state.remove_dataset_examples(
            request.name, list(request.record_ids), self._clock(), note="removed"))
        return _change(change, 0)

    async def DeleteDataset(self, request: pb.DeleteDatasetRequest, context: grpc.aio.ServicerContext
                            ) -> pb.DeleteDatasetResponse:
        await self._auth.authorize(context, _PURPOSE)
        await _check_name(context, request.name)
        if not await _answer(context, self._state.delete_dataset(request.name)):
            await context.abort(grpc.StatusCode.NOT_FOUND, f"no dataset named {request.name!r}")
        return pb.DeleteDatasetResponse()

    async def AddTrace(self, request: pb.AddTraceRequest, context: grpc.aio.ServicerContext
                       ) -> pb.AddTraceResponse:
        await self._auth.authorize(context, _PURPOSE)
        await _check_name(context, request.name)
        trace_id = request.trace_id.strip().lower()
        if len(trace_id) != TRACE_ID_HEX or any(c not in "0123456789abcdef" for c in trace_id):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                f"trace_id must be 32 hex digits, got {request.trace_id!r}")
        if self._trace_records is None:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION,
                                "the evaluator has no trace backend to read traces from; set "
                                "backfill.jaeger_url in its config, or import the trace's records "
                                "with `judgeval datasets add NAME --trace ID --from FILE`")
        assert self._trace_records is not None  # context.abort raises
        try:
            records = await self._trace_records(trace_id)
        except LookupError as exc:
            await context.abort(grpc.StatusCode.NOT_FOUND, str(exc))
        except ConnectionError as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
        if not records:
            await context.abort(grpc.StatusCode.NOT_FOUND,
                                f"trace {trace_id} has no scored span (nothing to add)")
        redacted, change, redactions = await self._add(context, request.name, records, "trace")
        return pb.AddTraceResponse(change=_change(change, redactions), records_json=[
            json.dumps(r.to_json(), sort_keys=True) for r in redacted])

    async def _describe(self, context: grpc.aio.ServicerContext, name: str, description: str) -> None:
        try:
            info = await self._state.dataset(name)
            settings = DatasetSettings(description, info.max_examples, info.max_age_s)
        except UnknownDataset:
            settings = DatasetSettings(description)
        except StateUnavailable as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
        await _answer(context, self._state.ensure_dataset(name, settings, self._clock()))

    async def _add(self, context: grpc.aio.ServicerContext, name: str, records: Sequence[InteractionRecord],
                   note: str) -> tuple[list[InteractionRecord], DatasetChange, int]:
        total: Counter[str] = Counter()
        redacted = []
        for record in records:
            clean, counts = self._redactor.record(record)
            redacted.append(clean)
            total.update(counts)
        if self._counters is not None:
            for pattern, count in total.items():
                self._counters.redactions(pattern, count)
        change = await _answer(context, self._state.add_dataset_examples(name, redacted, self._clock(), note))
        return redacted, change, sum(total.values())


def _dataset(info: DatasetInfo) -> pb.Dataset:
    return pb.Dataset(
        name=info.name, description=info.description, created_at=_timestamp(info.created_at),
        updated_at=_timestamp(info.updated_at), version=info.version, latest_version=info.latest_version,
        example_count=info.example_count, max_examples=info.max_examples or 0,
        max_age_s=info.max_age_s or 0.0)


def _change(change: DatasetChange, redactions: int) -> pb.DatasetChange:
    return pb.DatasetChange(version=change.version, added=change.added, unchanged=change.unchanged,
                            removed=change.removed, redactions=redactions)


def _timestamp(seconds: float) -> Timestamp:
    stamp = Timestamp()
    stamp.FromNanoseconds(int(seconds * 1e9))
    return stamp


async def _check_name(context: grpc.aio.ServicerContext, name: str) -> None:
    problem = dataset_name_problem(name)
    if problem is not None:
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, problem)


async def _answer(context: grpc.aio.ServicerContext, call: Awaitable[T]) -> T:
    """``call``'s result; a database outage aborts ``UNAVAILABLE``, an unknown dataset ``NOT_FOUND``."""
    try:
        return await call
    except StateUnavailable as exc:
        await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
    except UnknownDataset as exc:
        await context.abort(grpc.StatusCode.NOT_FOUND, str(exc))
    raise AssertionError("context.abort raises")


def datasets_installer(state: SharedState, auth: AdminAuth | str | None, redactor: Redactor, *,
                       trace_records: TraceRecords | None = None) -> Callable[[grpc.aio.Server], None]:
    """A service installer adding the Datasets API over ``state`` to the evaluator's gRPC server."""

    def install(server: grpc.aio.Server) -> None:
        pb_grpc.add_DatasetsServicer_to_server(
            DatasetsServicer(state, auth, redactor, trace_records=trace_records), server)

    return install
