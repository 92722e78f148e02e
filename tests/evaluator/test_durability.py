"""No data loss: restarts resume queued work, downstream outages delay spans, nothing is duplicated."""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path

import grpc
import pytest
from judgeval import semconv
from judgeval.semconv import EvalStatus
from judgeval.testing import RecordedOpenAIServer, Recording

from evaluator_service.app import EvaluatorApp
from evaluator_service.queue import DB_FILE_NAME
from tests.support.evaluator import export, running, wait_drained, wait_for
from tests.support.polling import eventually_async
from tests.support.spans import by_name, make_request, make_span, tagged_attributes

REGEX = {"pattern": "ok"}


def queued_spans(data_dir: Path) -> int:
    """Spans in the queue file, read with plain SQLite (a packed row holds several)."""
    with sqlite3.connect(data_dir / DB_FILE_NAME) as db:
        return int(db.execute("SELECT COALESCE(SUM(spans), 0) FROM spans").fetchone()[0])


async def test_restart_with_a_non_empty_queue_delivers_everything(make_config, receiver, tmp_path):
    data_dir = tmp_path / "restart"
    config = make_config(data_dir=data_dir)
    receiver.unavailable = True
    spans = [
        make_span("plain"),
        make_span("tagged", tagged_attributes(("regex", {"actual_output": "ok"}), config=REGEX)),
    ]
    async with running(config) as app:
        await export(app, make_request(spans))
    assert queued_spans(data_dir) == 2
    receiver.unavailable = False
    async with running(config):
        received = await wait_for(receiver, lambda s: len(s) == 2)
    assert by_name(received, "tagged").attributes[semconv.JUDGEVAL_EVAL_STATUS] == EvalStatus.SCORED
    assert by_name(received, "plain").attributes == {semconv.JUDGEVAL_EVAL_STATUS: EvalStatus.NOT_SELECTED}
    assert queued_spans(data_dir) == 0


async def test_scoring_cut_short_by_shutdown_resumes_after_restart(
    make_config, receiver, tmp_path, monkeypatch
):
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    data_dir = tmp_path / "cut-short"
    recordings = [Recording(match=["slow question"], answer='{"score": 0.5}', delay_ms=1000)]
    with RecordedOpenAIServer(recordings) as judge:
        config = make_config({"judge": {"base_url": judge.base_url}}, data_dir=data_dir)
        span = make_span(
            "slow", tagged_attributes(("answer_relevancy", {"input": "slow question", "actual_output": "a"}))
        )
        app = EvaluatorApp(config)
        await app.start()
        await export(app, make_request([span]))
        await eventually_async(lambda: judge.requests, "the judge was asked (scoring has started)")
        await app.stop(grace=0.1)
        assert receiver.spans == []
        assert queued_spans(data_dir) == 1
        async with running(config):
            received = await wait_for(receiver, lambda s: len(s) == 1)
    assert received[0].attributes[semconv.JUDGEVAL_EVAL_STATUS] == EvalStatus.SCORED
    assert len(judge.requests) == 2


async def test_downstream_outage_delays_spans_without_loss_or_duplicates(make_config, receiver):
    receiver.unavailable = True
    batches = [
        [
            make_span(
                f"span-{b}-{i}",
                tagged_attributes(("regex", {"actual_output": "ok"}), config=REGEX) if i % 3 == 0 else None,
            )
            for i in range(10)
        ]
        for b in range(5)
    ]
    async with running(make_config()) as app:
        for batch in batches:
            await export(app, make_request(batch))
        # The forwarder really hit the outage and retried, and everything is still queued, none dropped.
        await eventually_async(lambda: receiver.refused_exports >= 2, "two refused export attempts")
        assert queued_spans(app.config.data_dir) == 50
        receiver.unavailable = False
        await wait_for(receiver, lambda s: len(s) == 50)
        await export(app, make_request([make_span("marker")]))
        received = await wait_for(receiver, lambda s: any(x.name == "marker" for x in s))
        await wait_drained(app)
        assert queued_spans(app.config.data_dir) == 0
    counts = Counter(s.span_id for s in received)
    assert len(received) == 51
    assert max(counts.values()) == 1
    statuses = Counter(s.attributes[semconv.JUDGEVAL_EVAL_STATUS] for s in received)
    assert statuses == {EvalStatus.SCORED: 20, EvalStatus.NOT_SELECTED: 31}


@pytest.mark.parametrize(
    "refusal",
    [grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNIMPLEMENTED],
)
async def test_misconfigured_downstream_delays_spans_until_fixed(make_config, receiver, refusal):
    receiver.refuse_with = refusal
    async with running(make_config()) as app:
        await export(app, make_request([make_span(f"span-{i}") for i in range(5)]))
        await eventually_async(lambda: receiver.refused_exports >= 2, "two refused export attempts")
        assert queued_spans(app.config.data_dir) == 5
        receiver.refuse_with = None  # the operator fixes the credentials / endpoint
        received = await wait_for(receiver, lambda s: len(s) == 5)
        await wait_drained(app)
    assert sorted(s.name for s in received) == [f"span-{i}" for i in range(5)]


async def test_a_batch_the_downstream_calls_invalid_is_dropped_not_retried_forever(make_config, receiver):
    receiver.refuse_with = grpc.StatusCode.INVALID_ARGUMENT
    async with running(make_config()) as app:
        await export(app, make_request([make_span("poison")]))
        await wait_drained(app)
        assert queued_spans(app.config.data_dir) == 0
        receiver.refuse_with = None
        await export(app, make_request([make_span("after")]))
        received = await wait_for(receiver, lambda s: len(s) == 1)
    assert [s.name for s in received] == ["after"]
