"""Shipped modules never import the test doubles in ``judgeval.testing`` (read from the source with ``ast``).

``judgeval.testing`` (the recorded OpenAI server, the OTLP receiver) ships so users' tests can import it,
but nothing an agent or the evaluator runs may depend on it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
TEST_DOUBLES = "judgeval.testing"
PACKAGE_PARENTS = (REPO_ROOT / "instrumentation", REPO_ROOT)
SHIPPED_PACKAGES = (REPO_ROOT / "instrumentation" / "judgeval", REPO_ROOT / "evaluator_service")
NOT_CHECKED = (
    REPO_ROOT / "instrumentation" / "judgeval" / "testing",
    # The local stack runner is a dev tool that still lives here; issue 11 moves it out of the packages.
    # Drop this line when it has moved (the test below fails until then, so the exemption cannot outlive it).
    REPO_ROOT / "evaluator_service" / "localstack",
)


def _module_name(path: Path) -> str:
    parent = next(p for p in PACKAGE_PARENTS if path.is_relative_to(p) and p != path)
    parts = list(path.relative_to(parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _shipped_sources() -> Iterator[Path]:
    for package in SHIPPED_PACKAGES:
        for path in sorted(package.rglob("*.py")):
            if not any(path.is_relative_to(skipped) for skipped in NOT_CHECKED):
                yield path


def _absolute(module: str | None, level: int, package: str) -> str:
    """The absolute module an ``ImportFrom`` names, resolving ``from ..x import y`` inside ``package``."""
    if level == 0:
        return module or ""
    parts = package.split(".")
    base = parts[: len(parts) - (level - 1)]
    return ".".join([*base, module] if module else base)


def imported_modules(source: str, package: str) -> set[str]:
    """Every module ``source`` (a module of ``package``) imports: ``import a.b``, ``from a import b`` (as
    ``a`` and ``a.b``), relative imports resolved, and string literals given to ``importlib.import_module``
    or ``__import__``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node.module, node.level, package)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                found.add(node.args[0].value)
    return found


def _package_of(path: Path) -> str:
    name = _module_name(path)
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def _is_test_doubles(module: str) -> bool:
    return module == TEST_DOUBLES or module.startswith(TEST_DOUBLES + ".")


def test_no_shipped_module_imports_the_test_doubles() -> None:
    offenders = {}
    for path in _shipped_sources():
        imported = imported_modules(path.read_text(encoding="utf-8"), _package_of(path))
        offenders[str(path.relative_to(REPO_ROOT))] = sorted(m for m in imported if _is_test_doubles(m))
    assert {path: modules for path, modules in offenders.items() if modules} == {}


def test_the_walk_covers_both_packages() -> None:
    packages = {_package_of(path).split(".")[0] for path in _shipped_sources()}
    assert packages == {"judgeval", "evaluator_service"}
    assert "judgeval.tracer" in {_package_of(path) for path in _shipped_sources()}


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
