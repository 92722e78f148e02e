"""judgeval's own errors: re-raised under pytest, only logged in production; the user's errors untouched."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from collections.abc import Sequence

import pytest
from judgeval._internal_errors import internal_errors_reraised, reraise_internal_errors
from judgeval.data import Example
from judgeval.scorers.example_scorer import ExampleScorer
from judgeval.tracer import Tracer, _decorators, _local_scoring, _wire_exporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


class InjectedBug(RuntimeError):
    """Stands for a bug in judgeval's own code."""


def _fail(*args: object, **kwargs: object) -> str:
    raise InjectedBug("injected judgeval bug")


@pytest.fixture
def broken_input_capture(monkeypatch: pytest.MonkeyPatch) -> None:
    """``@observe`` fails in its own code (recording the input) before the user's function runs."""
    monkeypatch.setattr(_decorators, "to_json", _fail)


def test_the_switch_is_on_under_pytest_and_can_be_turned_off():
    assert internal_errors_reraised()
    with reraise_internal_errors(False):
        assert not internal_errors_reraised()
        with reraise_internal_errors(True):
            assert internal_errors_reraised()
        assert not internal_errors_reraised()
    assert internal_errors_reraised()


def test_an_internal_error_is_reraised_under_pytest(judgment: Tracer, broken_input_capture: None):
    calls = []

    @judgment.observe
    def answer(question: str) -> str:
        calls.append(question)
        return "ok"

    with pytest.raises(InjectedBug, match="injected judgeval bug"):
        answer("where is my package?")
    assert calls == []


def test_with_the_switch_off_an_internal_error_is_logged_and_the_call_runs_untraced(
    judgment: Tracer,
    exporter: InMemorySpanExporter,
    broken_input_capture: None,
    caplog: pytest.LogCaptureFixture,
):
    @judgment.observe
    def answer(question: str) -> str:
        return "ok"

    with reraise_internal_errors(False), caplog.at_level(logging.ERROR, logger="judgeval"):
        assert answer("where is my package?") == "ok"
    (record,) = [r for r in caplog.records if r.name == "judgeval"]
    assert record.getMessage() == "judgeval could not start tracing a call; running it untraced"
    assert record.exc_info is not None and record.exc_info[0] is InjectedBug


@pytest.mark.parametrize("reraise", [True, False])
def test_the_users_exception_propagates_unchanged_either_way(
    judgment: Tracer, exporter: InMemorySpanExporter, reraise: bool
):
    error = ValueError("the user's own failure")

    @judgment.observe
    def answer(question: str) -> str:
        raise error

    with reraise_internal_errors(reraise), pytest.raises(ValueError) as raised:
        answer("where is my package?")
    assert raised.value is error
    (span,) = exporter.get_finished_spans()
    assert span.status.description == "ValueError: the user's own failure"


class Reply(Example):
    response: str


class LengthScorer(ExampleScorer):
    """A local scorer (runs on judgeval's background threads in the agent process)."""

    async def a_score_example(self, example: Reply) -> float:
        return 1.0 if len(example.response) > 3 else 0.0


def _score_locally(judgment: Tracer) -> None:
    @judgment.observe()
    def handle() -> None:
        judgment.async_evaluate(scorer=LengthScorer(threshold=0.5), example=Reply(response="hello"))

    handle()


@pytest.mark.parametrize("reraise", [True, False])
def test_an_internal_error_on_the_local_scoring_thread_escapes_it_only_under_pytest(
    judgment: Tracer,
    exporter: InMemorySpanExporter,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    reraise: bool,
):
    escaped: list[BaseException | None] = []
    monkeypatch.setattr(_local_scoring.LocalScoringExecutor, "_emit", _fail)
    monkeypatch.setattr(threading, "excepthook", lambda args: escaped.append(args.exc_value))
    before = set(threading.enumerate())
    with reraise_internal_errors(reraise), caplog.at_level(logging.ERROR, logger="judgeval"):
        _score_locally(judgment)
        judgment.shutdown(5000)  # drains, then stops the scoring threads
        for thread in set(threading.enumerate()) - before:
            if thread.name == "judgeval-local-scoring":
                thread.join(10)  # whatever escapes the thread has escaped once it ended
                assert not thread.is_alive()
    logged = [r for r in caplog.records if r.getMessage() == "judgeval local scoring failed"]
    if reraise:  # pytest reports an exception leaving a thread (the suite makes that an error)
        assert [type(e) for e in escaped] == [InjectedBug]
        assert logged == []
    else:
        assert escaped == []
        assert len(logged) == 1
    assert [s.name for s in exporter.get_finished_spans()] == ["handle"]


def _finished_spans(judgment: Tracer, exporter: InMemorySpanExporter) -> Sequence[ReadableSpan]:
    @judgment.observe
    def answer() -> str:
        return "ok"

    answer()
    return exporter.get_finished_spans()


def test_a_failing_span_encoder_raises_under_pytest_and_falls_back_to_the_stock_one_when_off(
    judgment: Tracer,
    exporter: InMemorySpanExporter,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
):
    spans = _finished_spans(judgment, exporter)
    monkeypatch.setattr(_wire_exporter, "encode_export_request", _fail)
    monkeypatch.setattr(_wire_exporter.WireOtlpSpanExporter, "_warned", False)
    wire = _wire_exporter.WireOtlpSpanExporter(endpoint="127.0.0.1:1", insecure=True)
    try:
        with pytest.raises(InjectedBug):
            wire._translate_data(spans)
        stock = OTLPSpanExporter(endpoint="127.0.0.1:1", insecure=True)
        expected = stock._translate_data(spans)
        stock.shutdown()
        monkeypatch.setattr(_wire_exporter.WireOtlpSpanExporter, "_warned", False)  # a fresh process
        with reraise_internal_errors(False), caplog.at_level(logging.ERROR, logger="judgeval"):
            assert wire._translate_data(spans) == expected
            assert wire._translate_data(spans) == expected
    finally:
        wire.shutdown()
    logged = [r for r in caplog.records if r.name == "judgeval"]
    assert len(logged) == 1, "production logs the encoder failure once, not per batch"


OUTSIDE_PYTEST = """
import logging
from judgeval.tracer import Tracer, _decorators
from opentelemetry.sdk.trace import TracerProvider

def fail(*args, **kwargs):
    raise RuntimeError("injected judgeval bug")

_decorators.to_json = fail
judgment = Tracer(project_name="outside-pytest", tracer_provider=TracerProvider())

@judgment.observe
def answer(question):
    return "ok"

print(answer("where is my package?"))
"""


def test_outside_pytest_an_internal_error_is_only_logged():
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    done = subprocess.run(
        [sys.executable, "-c", OUTSIDE_PYTEST], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
    assert "judgeval could not start tracing a call; running it untraced" in done.stderr
    assert "RuntimeError: injected judgeval bug" in done.stderr
