"""A span to score that reaches the evaluator twice is scored, counted and exported once.

A collector re-sends an export whose answer it did not get: after a timeout, or after the evaluator was
killed between committing the spans and answering. Before the fix every copy was queued, scored, counted
in the score metrics and exported again. Now the intake remembers the ids of the spans to score it
accepted (in the queue file, with the spans, in one transaction): a copy it already has is answered OK (so
the collector stops re-sending), dropped and counted in ``judgeval.evaluator.spans.duplicates``.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc
from judgeval import semconv
from judgeval.testing.otlp_receiver import OtlpTraceReceiver
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from evaluator_service import span_keys
from evaluator_service.packed_spans import pack_spans, unpack_spans
from evaluator_service.queue import DB_FILE_NAME
from tests.support.evaluator import export, metric_points, running, wait_drained, wait_for
from tests.support.polling import eventually
from tests.support.spans import make_request, make_span, tagged_attributes

PARCEL = {"actual_output": "your parcel ships today"}
KEYWORD = {"keywords": ["parcel"]}


def tagged(name: str) -> Span:
    return make_span(name, tagged_attributes(("keyword", PARCEL), config=KEYWORD))


def counts(reader: InMemoryMetricReader) -> dict[str, Any]:
    """Scores recorded for the keyword scorer, spans scored and duplicates dropped."""
    points = metric_points(reader)
    return {
        "scores": sum(p.count for p in points.get(semconv.METRIC_SCORE_VALUE, [])
                      if p.attributes[semconv.SCORE_METRIC_LABEL_SCORER] == "keyword"),
        "scored": sum(p.value for p in points.get(semconv.METRIC_SPANS_SCORED, [])),
        "duplicates": sum(p.value for p in points.get(semconv.METRIC_SPANS_DUPLICATES, [])),
    }


async def send_and_settle(app, receiver, spans: list[Span], canary: str) -> None:
    """Export ``spans`` (retries among them), then a canary, and wait until the canary was delivered and
    the queue is empty: spans are scored in the order they came, so everything before it is done."""
    await export(app, make_request(spans))
    await export(app, make_request([tagged(canary)]))
    await wait_for(receiver, lambda got: any(s.name == canary for s in got))
    await wait_drained(app)


async def test_a_collector_retry_is_scored_counted_and_exported_once(make_config, receiver):
    reader = InMemoryMetricReader()
    span = tagged("retried")
    async with running(make_config(), metric_readers=[reader]) as app:
        await export(app, make_request([span]))
        await wait_for(receiver, lambda got: any(s.name == "retried" for s in got))
        response = await export(app, make_request([span]))  # the retry: answered OK, nothing refused
        assert response.partial_success.rejected_spans == 0
        await send_and_settle(app, receiver, [], "canary")
        assert counts(reader) == {"scores": 2, "scored": 2, "duplicates": 1}  # retried + canary
    assert sorted(s.name for s in receiver.spans) == ["canary", "retried"]


async def test_the_same_span_twice_in_one_export_is_scored_once(make_config, receiver):
    reader = InMemoryMetricReader()
    span = tagged("twice")
    async with running(make_config(), metric_readers=[reader]) as app:
        await send_and_settle(app, receiver, [span, span], "canary")
        assert counts(reader) == {"scores": 2, "scored": 2, "duplicates": 1}
    assert sorted(s.name for s in receiver.spans) == ["canary", "twice"]


async def test_a_retry_after_a_restart_is_still_recognised(make_config, receiver, tmp_path):
    span = tagged("before-restart")
    config = make_config(data_dir=tmp_path / "data")
    async with running(config) as app:
        await send_and_settle(app, receiver, [span], "first-canary")
    reader = InMemoryMetricReader()
    async with running(make_config(data_dir=tmp_path / "data"), metric_readers=[reader]) as app:
        await send_and_settle(app, receiver, [span], "second-canary")
        assert counts(reader) == {"scores": 1, "scored": 1, "duplicates": 1}  # the second canary only
    assert sorted(s.name for s in receiver.spans) == ["before-restart", "first-canary", "second-canary"]


async def test_untagged_and_other_spans_of_a_retried_export_are_kept(make_config, receiver):
    reader = InMemoryMetricReader()
    first, second = tagged("seen"), tagged("new")
    async with running(make_config(), metric_readers=[reader]) as app:
        await send_and_settle(app, receiver, [first], "canary-1")
        await send_and_settle(app, receiver, [first, second, make_span("plain")], "canary-2")
        assert counts(reader) == {"scores": 4, "scored": 4, "duplicates": 1}
    assert sorted(s.name for s in receiver.spans) == ["canary-1", "canary-2", "new", "plain", "seen"]


def test_keys_are_forgotten_after_their_time_and_packed_spans_unpack():
    db = sqlite3.connect(":memory:", isolation_level=None)
    db.execute(span_keys.CREATE_TABLE)
    span_keys.remember(db, [b"old-1", b"old-2"], now=0.0)
    span_keys.remember(db, [b"new", b"old-1"], now=100.0)  # a key seen again keeps its first time
    assert span_keys.known_keys(db, [b"old-1", b"new", b"unknown"]) == {b"old-1", b"new"}
    assert span_keys.forget_before(db, 50.0) == 2
    assert span_keys.known_keys(db, [b"old-1", b"old-2", b"new"]) == {b"new"}
    span_keys.remember(db, [b"a", b"b", b"c"], now=200.0)
    assert span_keys.forget_before(db, 50.0, keep_at_most=2) == 2  # "new" and "a": only the newest 2 stay
    assert span_keys.known_keys(db, [b"new", b"a", b"b", b"c"]) == {b"b", b"c"}
    assert span_keys.forget_before(db, 1000.0) == 2
    # Lengths of one, two and three varint bytes.
    spans = [Span(name=name).SerializeToString() for name in ("", "x" * 120, "y" * 200, "z" * 70_000)]
    assert unpack_spans(pack_spans(spans)) == spans
    with_extra_field = pack_spans(spans[:2]) + b"\x1a\x03abc"  # ScopeSpans.schema_url, beside the spans
    assert unpack_spans(with_extra_field) == spans[:2]


@contextmanager
def evaluator_process(tmp_path: Path, receiver: OtlpTraceReceiver) -> Iterator[tuple[subprocess.Popen, int]]:
    """``python -m evaluator_service`` on a free port, its queue in ``tmp_path/data``; yields it and its
    port. Killed on exit if still running."""
    command = [sys.executable, "-m", "evaluator_service", "--listen", "127.0.0.1:0", "--data-dir",
               str(tmp_path / "data"), "--export-endpoint", receiver.endpoint]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUDGEVAL_EVALUATOR_", "OTEL_"))}
    with (tmp_path / "stderr.log").open("a") as stderr, subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline().strip()
            assert line.startswith("judgeval-evaluator listening on 127.0.0.1:"), line
            yield process, int(line.rsplit(":", 1)[1])
        finally:
            if process.poll() is None:
                process.kill()


def export_to(port: int, spans: list[Span]) -> ExportTraceServiceResponse:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        return TraceServiceStub(channel).Export(make_request(spans), timeout=30)  # type: ignore[no-any-return]


def queued_spans(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / DB_FILE_NAME) as db:
        return int(db.execute("SELECT COALESCE(SUM(spans), 0) FROM spans").fetchone()[0])


def test_a_retry_after_the_evaluator_was_killed_is_not_scored_again(tmp_path: Path):
    span = tagged("killed-then-retried")
    with OtlpTraceReceiver() as receiver:
        with evaluator_process(tmp_path, receiver) as (process, port):
            export_to(port, [span])
            receiver.wait_for(lambda got: any(s.name == "killed-then-retried" for s in got))
            # Delivered and deleted, so the restart resends nothing (that would be at-least-once delivery,
            # not the retry this test is about).
            eventually(lambda: queued_spans(tmp_path / "data") == 0, "the queue never emptied")
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
        with evaluator_process(tmp_path, receiver) as (process, port):
            # The collector never got the first answer, so it sends the same request again.
            assert export_to(port, [span]).partial_success.rejected_spans == 0
            export_to(port, [tagged("canary")])
            receiver.wait_for(lambda got: any(s.name == "canary" for s in got))
            eventually(lambda: queued_spans(tmp_path / "data") == 0, "the queue never emptied")
        names = Counter(s.name for s in receiver.spans)
    assert names == {"killed-then-retried": 1, "canary": 1}
    assert "Traceback" not in (tmp_path / "stderr.log").read_text()
