"""Fuzz suite settings and fixtures. Hypothesis runs derandomized (the same examples on every run, no example
database) with a fixed ``max_examples`` per test, so CI time is bounded and a failure reproduces."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, settings
from judgeval.testing.otlp_receiver import OtlpTraceReceiver

from evaluator_service.app import EvaluatorApp
from evaluator_service.config import load_config

settings.register_profile(
    "fuzz", derandomize=True, database=None, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.function_scoped_fixture],
)
settings.load_profile("fuzz")


@dataclass
class RunningEvaluator:
    app: EvaluatorApp
    receiver: OtlpTraceReceiver
    loop: asyncio.AbstractEventLoop

    def call(self, coroutine):  # type: ignore[no-untyped-def]
        """Run a coroutine on the evaluator's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=60)


@pytest.fixture(scope="module")
def evaluator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEvaluator]:
    """One evaluator (gRPC and OTLP/HTTP) on its own event loop thread, shared by a module's examples."""
    tmp = tmp_path_factory.mktemp("fuzz-evaluator")
    doc = {"ingress": {"http_listen": "127.0.0.1:0"},
           "export": {"backoff_initial_s": 0.02, "backoff_max_s": 0.1, "timeout_s": 5}}
    (tmp / "config.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fuzz-evaluator", daemon=True)
    thread.start()
    with OtlpTraceReceiver() as receiver:
        config = load_config(listen="127.0.0.1:0", export_endpoint=receiver.endpoint,
                             data_dir=str(tmp / "data"), config_file=str(tmp / "config.yaml"),
                             environ=dict(os.environ))
        app = EvaluatorApp(config)
        running = RunningEvaluator(app, receiver, loop)
        running.call(app.start())
        try:
            yield running
        finally:
            running.call(app.stop(grace=2))
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            loop.close()


def data_dir_of(evaluator: RunningEvaluator) -> Path:
    return evaluator.app.config.data_dir
