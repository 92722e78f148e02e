"""Pytest fixtures for the real collector and Jaeger binaries, loaded for every suite by tests/conftest.py.

The binaries are built once per session (``scripts/otel-binaries``, cached); the first test that needs them
gets the time a cold build takes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from judgeval.testing.otlp_receiver import OtlpTraceReceiver

from evaluator_service.localstack.procs import BinariesUnavailable, OtelBinaries, build_otel_binaries
from evaluator_service.localstack.stack import (
    CollectorInstance,
    JaegerInstance,
    start_collector,
    start_jaeger,
)

ALLOW_SKIP_ENV = "JUDGEVAL_ALLOW_SKIP_BINARIES"
"""Set to ``1`` to skip (instead of fail) binary-backed tests on a machine without Go."""

BUILD_TIMEOUT_S = 1800
"""Time allowed to the test whose setup builds the binaries (a cold build takes many minutes)."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Raise the pytest-timeout limit of the first test that needs the binaries, whose setup builds them.

    The session fixture then builds once, and every later test keeps the normal limit.
    """
    for item in items:
        if "otel_binaries" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.timeout(BUILD_TIMEOUT_S))
            return


@pytest.fixture(scope="session")
def otel_binaries() -> OtelBinaries:
    """Paths of the collector and Jaeger binaries, built once per session by ``scripts/otel-binaries``.

    Without Go the tests fail (CI must build the binaries) unless ``JUDGEVAL_ALLOW_SKIP_BINARIES=1``.
    """
    try:
        return build_otel_binaries()
    except BinariesUnavailable as error:
        reason = f"collector/Jaeger binaries unavailable: {error}"
        if os.environ.get(ALLOW_SKIP_ENV) == "1":
            pytest.skip(reason)
        pytest.fail(f"{reason} (set {ALLOW_SKIP_ENV}=1 to skip these tests instead)")


@pytest.fixture
def jaeger(otel_binaries: OtelBinaries, tmp_path: Path) -> Iterator[JaegerInstance]:
    """A fresh Jaeger v2 (in-memory) on free ports, stopped after the test."""
    with start_jaeger(otel_binaries.jaeger, tmp_path / "jaeger") as instance:
        yield instance


@pytest.fixture
def evaluator_receiver() -> Iterator[OtlpTraceReceiver]:
    """An in-process OTLP/gRPC receiver standing where the evaluator's endpoint would be."""
    with OtlpTraceReceiver() as receiver:
        yield receiver


@pytest.fixture
def collector(
    otel_binaries: OtelBinaries,
    tmp_path: Path,
    jaeger: JaegerInstance,
    evaluator_receiver: OtlpTraceReceiver,
) -> Iterator[CollectorInstance]:
    """The collector with ``otelcol-jaeger.yaml``: pending spans to ``evaluator_receiver``, rest to Jaeger."""
    with start_collector(
        otel_binaries.otelcol,
        tmp_path / "otelcol",
        evaluator_endpoint=evaluator_receiver.endpoint,
        backend_endpoint=jaeger.otlp_grpc_endpoint,
    ) as instance:
        yield instance
