"""Shipped modules never import the test doubles in ``judgeval.testing`` (read from the source with ``ast``).

``judgeval.testing`` (the recorded OpenAI server, the OTLP receiver) ships so users' tests can import it,
but nothing an agent or the evaluator runs may depend on it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .source_imports import EVALUATOR_DIR, JUDGEVAL_DIR, REPO_ROOT, imported_modules, imports_of, package_of
from .source_imports import python_sources as sources_under

TEST_DOUBLES = "judgeval.testing"
NOT_CHECKED = (
    JUDGEVAL_DIR / "testing",
    # The local stack runner is a dev tool that still lives here; issue 11 moves it out of the packages.
    # test_exemptions_still_exist fails once it has moved, so this line goes with the move.
    EVALUATOR_DIR / "localstack",
)


def _shipped_sources() -> Iterator[Path]:
    for package_dir in (JUDGEVAL_DIR, EVALUATOR_DIR):
        yield from sources_under(package_dir, skip=NOT_CHECKED)


def _is_test_doubles(module: str) -> bool:
    return module == TEST_DOUBLES or module.startswith(TEST_DOUBLES + ".")


def test_no_shipped_module_imports_the_test_doubles() -> None:
    offenders = {}
    for path in _shipped_sources():
        modules = sorted(m for m in imports_of(path) if _is_test_doubles(m))
        if modules:
            offenders[str(path.relative_to(REPO_ROOT))] = modules
    assert offenders == {}


def test_the_walk_covers_both_packages() -> None:
    packages = {package_of(path) for path in _shipped_sources()}
    assert {"judgeval", "judgeval.tracer", "judgeval.cli", "evaluator_service", "evaluator_service.state"} \
        <= packages


def test_exemptions_still_exist() -> None:
    assert [p for p in NOT_CHECKED if not p.is_dir()] == []


@pytest.mark.parametrize(
    ("source", "package"),
    [
        ("import judgeval.testing", "evaluator_service"),
        ("from judgeval.testing.otlp_receiver import OtlpTraceReceiver", "evaluator_service.admin"),
        ("from judgeval import testing", "evaluator_service"),
        ("from . import testing", "judgeval"),
        ("from ..testing import RecordedOpenAIServer", "judgeval.cli"),
        ("import importlib\nimportlib.import_module('judgeval.testing')", "evaluator_service"),
        ("def lazy():\n    from judgeval.testing import RecordedOpenAIServer", "judgeval.tracer"),
    ],
)
def test_every_spelling_of_the_import_is_seen(source: str, package: str) -> None:
    assert any(_is_test_doubles(m) for m in imported_modules(source, package))


@pytest.mark.parametrize(
    ("source", "package"),
    [("from judgeval import tracer", "evaluator_service"), ("from .testing_tools import x", "judgeval")],
)
def test_other_imports_are_not_mistaken_for_it(source: str, package: str) -> None:
    assert not any(_is_test_doubles(m) for m in imported_modules(source, package))
