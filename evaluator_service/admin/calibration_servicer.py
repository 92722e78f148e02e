"""The ``judgeval.admin.v1.Calibration`` gRPC service: people's labels on dataset examples and each judge's
agreement with them (:mod:`evaluator_service.calibration`).

Authenticated exactly like ``ScorerAdmin`` (:class:`~evaluator_service.admin.auth.AdminAuth`). A state
database outage is ``UNAVAILABLE``, an unknown dataset ``NOT_FOUND``, a bad request ``INVALID_ARGUMENT``;
one bad label is refused on its own in the answer's ``problems``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TypeVar

import grpc
from judgeval.admin.v1 import calibration_pb2 as pb
from judgeval.admin.v1 import calibration_pb2_grpc as pb_grpc

from evaluator_service.admin.auth import AdminAuth
from evaluator_service.calibration.agreement import Proportion
from evaluator_service.calibration.labeling import (
    MAX_LABELS_PER_CALL,
    LabelRequest,
    examples_to_label,
    store_labels,
)
from evaluator_service.calibration.monitor import KEEP_COUNTS_S, CalibrationMonitor, CalibrationReport
from evaluator_service.datasets.page_token import BadPageToken, continued_read, page_token
from evaluator_service.state import SharedState, StateUnavailable
from evaluator_service.state.dataset_values import MAX_EXAMPLES_PER_PAGE, UnknownDataset

_PURPOSE = "the calibration API"
T = TypeVar("T")


class CalibrationServicer(pb_grpc.CalibrationServicer):
    """Async servicer over the shared state's datasets and labels and a :class:`CalibrationMonitor`."""

    def __init__(self, state: SharedState, monitor: CalibrationMonitor, auth: AdminAuth | str | None,
                 clock: Callable[[], float] | None = None) -> None:
        self._state = state
        self._monitor = monitor
        self._auth = AdminAuth.of(auth)
        self._clock = clock or monitor.now

    async def ExamplesToLabel(self, request: pb.ExamplesToLabelRequest, context: grpc.aio.ServicerContext
                              ) -> pb.ExamplesToLabelResponse:
        await self._auth.authorize(context, _PURPOSE)
        if not (0 <= request.sample <= MAX_EXAMPLES_PER_PAGE and 0 <= request.limit <= MAX_EXAMPLES_PER_PAGE):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                f"sample and limit must be 0 to {MAX_EXAMPLES_PER_PAGE}, got sample "
                                f"{request.sample} and limit {request.limit}")
        try:
            version, after = continued_read(0, request.page_token)
        except BadPageToken as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        found = await _answer(context, examples_to_label(
            self._state, request.dataset, sample=request.sample, scorer=request.scorer or None,
            limit=request.limit or 100, version=version, after=after))
        return pb.ExamplesToLabelResponse(
            examples=[pb.ExampleToLabel(record_json=_json(r.to_json())) for r in found.examples],
            unlabeled=found.unlabeled, labeled=found.labeled,
            next_page_token=page_token(found.version, found.next_after))

    async def LabelExamples(self, request: pb.LabelExamplesRequest, context: grpc.aio.ServicerContext
                            ) -> pb.LabelExamplesResponse:
        await self._auth.authorize(context, _PURPOSE)
        if len(request.labels) > MAX_LABELS_PER_CALL:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                f"at most {MAX_LABELS_PER_CALL} labels per call, got {len(request.labels)}")
        wanted = [LabelRequest(x.record_id, x.label, x.note) for x in request.labels]
        stored, problems = await _answer(context, store_labels(self._state, request.dataset, wanted,
                                                               request.labeler, self._clock()))
        return pb.LabelExamplesResponse(stored=stored, problems=[pb.LabelProblem(record_id=rid, problem=p)
                                                                 for rid, p in problems])

    async def ListLabels(self, request: pb.ListLabelsRequest, context: grpc.aio.ServicerContext
                         ) -> pb.ListLabelsResponse:
        await self._auth.authorize(context, _PURPOSE)
        await _answer(context, self._state.dataset(request.dataset))  # NOT_FOUND for an unknown dataset
        labels = await _answer(context, self._state.dataset_labels(request.dataset))
        return pb.ListLabelsResponse(labels=[pb.Label(
            dataset=x.dataset, record_id=x.record_id, scorer=x.scorer, label=x.label.value,
            judge="none" if x.judge_passed is None else "pass" if x.judge_passed else "fail",
            labeler=x.labeler, note=x.note, at=x.at) for x in labels])

    async def GetCalibration(self, request: pb.GetCalibrationRequest, context: grpc.aio.ServicerContext
                             ) -> pb.CalibrationReport:
        await self._auth.authorize(context, _PURPOSE)
        if not request.scorer.strip():
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "a scorer name is required")
        if not 0 <= request.window_seconds <= KEEP_COUNTS_S:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                f"window_seconds must be 0 (the configured window) to {KEEP_COUNTS_S:g} "
                                "(outcome counts are kept 7 days)")
        if request.dataset:
            await _answer(context, self._state.dataset(request.dataset))
        report = await _answer(context, self._monitor.report(request.scorer, request.dataset or None,
                                                             request.window_seconds or None))
        return report_message(report, self._monitor.config.min_labels)


def report_message(report: CalibrationReport, min_labels: int) -> pb.CalibrationReport:
    """The wire form of a :class:`CalibrationReport`."""
    judged, rate = report.agreement, report.rate
    out = pb.CalibrationReport(
        scorer=report.scorer, dataset=report.dataset or "", window_seconds=report.window_s,
        confidence=judged.confidence, min_labels=min_labels, true_positives=judged.true_positives,
        false_negatives=judged.false_negatives, true_negatives=judged.true_negatives,
        false_positives=judged.false_positives, unjudged=judged.unjudged,
        sensitivity=_rate(judged.sensitivity), specificity=_rate(judged.specificity), scores=rate.scores,
        failures=rate.failures, refused=rate.refused or "")
    optional = {"kappa": judged.kappa, "observed_failure_rate": rate.observed,
                "corrected_failure_rate": rate.corrected, "corrected_low": rate.low,
                "corrected_high": rate.high}
    for name, value in optional.items():
        if value is not None:
            setattr(out, name, value)
    return out


def _rate(p: Proportion) -> pb.Rate:
    out = pb.Rate(successes=p.successes, trials=p.trials)
    for name in ("estimate", "low", "high"):
        value = getattr(p, name)
        if value is not None:
            setattr(out, name, value)
    return out


def _json(data: object) -> str:
    return json.dumps(data, sort_keys=True)


async def _answer(context: grpc.aio.ServicerContext, work: Awaitable[T]) -> T:
    try:
        return await work
    except UnknownDataset as exc:
        await context.abort(grpc.StatusCode.NOT_FOUND, str(exc))
        raise  # unreachable: abort raises
    except StateUnavailable as exc:
        await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
        raise


def calibration_installer(state: SharedState, monitor: CalibrationMonitor, auth: AdminAuth | str | None
                          ) -> Callable[[grpc.aio.Server], None]:
    """A service installer adding the Calibration API to the evaluator's gRPC server."""

    def install(server: grpc.aio.Server) -> None:
        pb_grpc.add_CalibrationServicer_to_server(CalibrationServicer(state, monitor, auth), server)

    return install
