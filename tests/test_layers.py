"""Layers point one way: checked on the imports the source files spell (module level and in functions)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _imports(package_dir: Path) -> Iterator[tuple[str, str]]:
    """``(file, imported module)`` for every absolute import in the package's source files."""
    for path in sorted(package_dir.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            else:
                continue
            for name in names:
                yield str(path.relative_to(REPO)), name


def _offenders(package_dir: Path, forbidden: tuple[str, ...]) -> list[str]:
    return sorted({
        f"{file} imports {name}"
        for file, name in _imports(package_dir)
        if any(name == f or name.startswith(f + ".") for f in forbidden)
    })


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        # the server never imports the CLI
        ("evaluator_service", ("judgeval.cli",)),
        # the contract is the bottom layer both sides stand on
        ("instrumentation/judgeval/protocol", ("judgeval.tracer", "judgeval.cli", "evaluator_service")),
        # scoring owns its settings: the config module assembles them, never the other way round
        ("evaluator_service/scoring", ("evaluator_service.config", "evaluator_service.config_sections")),
        # channels see only the notification contract: never alert rules, engine state or the database
        ("evaluator_service/alerts/channels", ("evaluator_service.alerts.config",
                                               "evaluator_service.alerts.manager", "evaluator_service.state",
                                               "evaluator_service.config")),
    ],
)
def test_no_import_points_up(package: str, forbidden: tuple[str, ...]):
    assert _offenders(REPO / package, forbidden) == []


def test_the_check_finds_imports_that_exist():
    offenders = _offenders(REPO / "evaluator_service" / "scoring", ("evaluator_service.scoring.contract",))
    assert "evaluator_service/scoring/runner.py imports evaluator_service.scoring.contract" in offenders
