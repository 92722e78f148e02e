"""The Calibration admin API's refusals (authentication, bad arguments, per-label problems), the gauges a
running evaluator publishes, the ``calibration:`` config section, and counts kept through a database
outage."""

from __future__ import annotations

import json
from typing import Any

import grpc
import pytest
from judgeval import semconv
from judgeval.admin.v1 import calibration_pb2 as pb
from judgeval.admin.v1 import calibration_pb2_grpc as pb_grpc
from judgeval.protocol.interaction_record import InteractionRecord
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from evaluator_service.admin.calibration_servicer import calibration_installer
from evaluator_service.calibration.config import CalibrationConfig, parse_calibration
from evaluator_service.calibration.monitor import CalibrationMonitor
from evaluator_service.config_values import ConfigError, Section
from evaluator_service.state import StateUnavailable, open_shared_state
from tests.calibration.labeled_sets import judged_labels
from tests.support.evaluator import metric_points, running
from tests.support.polling import eventually_async
from tests.support.postgres_cluster import PostgresCluster, set_reachable

API_KEY = "calibration-api-key"


def _record(n: int, passed: bool) -> InteractionRecord:
    return InteractionRecord(scorer="polite", trace_id=f"{n:032x}", span_id=f"{n:016x}", at=float(n),
                             example={"input": "hi", "actual_output": "hello"}, threshold=0.5,
                             score=1.0 if passed else 0.0, passed=passed)


async def _call(port: int, method: str, request: object, key: str | None = API_KEY) -> Any:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        metadata = (("authorization", f"Bearer {key}"),) if key else ()
        return await getattr(pb_grpc.CalibrationStub(channel), method)(request, metadata=metadata, timeout=10)


async def test_api_refusals_and_per_label_problems(make_config) -> None:  # type: ignore[no-untyped-def]
    config = make_config({})
    state = open_shared_state(config.state_db_url)
    monitor = CalibrationMonitor(config.calibration, state=state)
    async with running(config, shared_state=state, calibration=monitor,
                       service_installers=[calibration_installer(state, monitor, API_KEY)]) as app:
        await state.add_dataset_examples("support", [_record(1, False), _record(2, True)], 10.0)
        for key in (None, "wrong"):
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await _call(app.port, "ListLabels", pb.ListLabelsRequest(dataset="support"), key)
            assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
        bad = [("ExamplesToLabel", pb.ExamplesToLabelRequest(dataset="support", sample=-1), "sample"),
               ("GetCalibration", pb.GetCalibrationRequest(scorer=" "), "scorer name is required"),
               ("GetCalibration", pb.GetCalibrationRequest(scorer="polite", window_seconds=-1), "window")]
        for method, request, fragment in bad:
            with pytest.raises(grpc.aio.AioRpcError) as invalid:
                await _call(app.port, method, request)
            assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert fragment in (invalid.value.details() or "")
        unknown = pb.GetCalibrationRequest(scorer="polite", dataset="nope")
        for method, request in (("ListLabels", pb.ListLabelsRequest(dataset="nope")),
                                ("GetCalibration", unknown)):
            with pytest.raises(grpc.aio.AioRpcError) as missing:
                await _call(app.port, method, request)
            assert missing.value.code() == grpc.StatusCode.NOT_FOUND

        one, two = _record(1, False).id, _record(2, True).id
        reply = await _call(app.port, "LabelExamples", pb.LabelExamplesRequest(
            dataset="support", labeler="ann", labels=[pb.LabelInput(record_id=one, label="FAIL", note="n"),
                                                      pb.LabelInput(record_id=two, label="maybe"),
                                                      pb.LabelInput(record_id="x:y:polite", label="pass")]))
        assert reply.stored == 1
        assert [(p.record_id, p.problem) for p in reply.problems] == [
            (two, "label must be pass or fail, got 'maybe'"),
            ("x:y:polite", "no such example in the dataset's current version")]
        listed = await _call(app.port, "ListLabels", pb.ListLabelsRequest(dataset="support"))
        assert [(x.record_id, x.label, x.judge, x.labeler, x.note)
                for x in listed.labels] == [(one, "fail", "fail", "ann", "n")]
        todo = await _call(app.port, "ExamplesToLabel", pb.ExamplesToLabelRequest(dataset="support"))
        assert (todo.unlabeled, todo.labeled) == (1, 1)
        assert [InteractionRecord.from_json(json.loads(e.record_json)).id for e in todo.examples] == [two]
    await state.close()


async def test_a_running_evaluator_publishes_the_calibration_gauges(  # type: ignore[no-untyped-def]
    make_config,
) -> None:
    config = make_config({"calibration": {"refresh": "100ms", "min_labels": 5}})
    reader = InMemoryMetricReader()
    async with running(config, metric_readers=[reader]) as app:
        state = open_shared_state(config.state_db_url)
        await state.open()
        await state.put_labels(judged_labels(failures=20, passes=20, miss_rate=0.0, false_alarm_rate=0.25))
        for n in range(10):  # 4 of 10 fail: corrected (0.4 + 0.75 - 1) / (1 + 0.75 - 1) = 0.2
            app.calibration.counter.count("polite", failed=n < 4)
        await eventually_async(lambda: "polite" in app.calibration.latest()
                               and app.calibration.latest()["polite"].rate.scores == 10, "no flush", 20)
        await state.close()
        points = metric_points(reader)
    values = {name: [(dict(p.attributes), p.value) for p in points[name]] for name in (
        semconv.METRIC_CALIBRATION_SENSITIVITY, semconv.METRIC_CALIBRATION_SPECIFICITY,
        semconv.METRIC_CALIBRATION_OBSERVED_FAILURE_RATE, semconv.METRIC_CALIBRATION_CORRECTED_FAILURE_RATE)}
    scorer = {semconv.SCORE_METRIC_LABEL_SCORER: "polite"}
    assert values[semconv.METRIC_CALIBRATION_SENSITIVITY] == [(scorer, 1.0)]
    assert values[semconv.METRIC_CALIBRATION_SPECIFICITY] == [(scorer, 0.75)]
    assert values[semconv.METRIC_CALIBRATION_OBSERVED_FAILURE_RATE] == [(scorer, 0.4)]
    [(labels, corrected)] = values[semconv.METRIC_CALIBRATION_CORRECTED_FAILURE_RATE]
    assert labels == scorer and corrected == pytest.approx(0.2)


def test_calibration_config_names_the_field() -> None:
    assert parse_calibration(Section({}, "calibration")) == CalibrationConfig()
    parsed = parse_calibration(Section({"window": "6h", "min_labels": 30, "confidence": 0.9, "refresh": "5m"},
                                       "calibration"))
    assert parsed == CalibrationConfig(window_s=21600.0, min_labels=30, confidence=0.9, refresh_s=300.0)
    for data, message in (({"confidence": 1.0}, "calibration.confidence: must be at least 0.5 and below 1"),
                          ({"window": "soon"}, "calibration.window: expected a duration"),
                          ({"min_labels": 0}, "calibration.min_labels"),
                          ({"labels": 3}, "calibration")):
        with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
            parse_calibration(Section(data, "calibration"))


async def test_counts_are_kept_through_a_database_outage(postgres: PostgresCluster) -> None:
    database = postgres.new_database()
    state = open_shared_state(postgres.url(database))
    await state.open()
    monitor = CalibrationMonitor(state=state, clock=lambda: 1_800_000_000.0)
    try:
        monitor.counter.count("polite", failed=True)
        set_reachable(postgres, database, False)
        with pytest.raises(StateUnavailable):
            await monitor.flush()
        monitor.counter.count("polite", failed=False)
        set_reachable(postgres, database, True)
        await monitor.flush()
        assert await state.scorer_counts("polite", 0) == (2, 1)
    finally:
        set_reachable(postgres, database, True)
        await state.close()
