"""Fixtures that run the real collector and Jaeger binaries (see ``fixtures.py``)."""

import pytest

from .fixtures import allow_time_for_the_build, collector, evaluator_receiver, jaeger, otel_binaries

__all__ = ["collector", "evaluator_receiver", "jaeger", "otel_binaries"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A cold build of the binaries happens in the first binary-backed test's setup: give it time."""
    allow_time_for_the_build(items)
