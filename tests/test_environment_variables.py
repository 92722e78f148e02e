"""Pins one home per package for our environment variables: same-named constants with docstrings, no bare
``JUDGMENT_``/``JUDGEVAL_`` string anywhere else, and OpenTelemetry's own ``OTEL_*`` names never redefined."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from types import ModuleType

import judgeval
import judgeval.environment_variables as judgeval_variables
import opentelemetry.environment_variables as otel_api_variables
import opentelemetry.sdk.environment_variables as otel_sdk_variables
import pytest

import evaluator_service
import evaluator_service.environment_variables as evaluator_variables

OUR_NAME = re.compile(r"(?<![A-Za-z0-9_])(JUDGMENT|JUDGEVAL)_")
PACKAGES = [(judgeval, judgeval_variables), (evaluator_service, evaluator_variables)]
OTEL_NAMES = {n for m in (otel_api_variables, otel_sdk_variables) for n in dir(m) if n.startswith("OTEL_")}


def _sources(package: ModuleType) -> list[Path]:
    root = Path(package.__file__).parent  # type: ignore[arg-type]
    return [p for p in sorted(root.rglob("*.py")) if not p.name.endswith(("_pb2.py", "_pb2_grpc.py"))]


def _docstring_nodes(tree: ast.AST) -> set[int]:
    """ids of string constants that are docstrings (module, class, function, or after an assignment)."""
    ids = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if not isinstance(body, list):
            continue
        for statement in body:
            if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant) \
                    and isinstance(statement.value.value, str):
                ids.add(id(statement.value))
    return ids


def _bare_names(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = _docstring_nodes(tree)
    return [f"{path.name}:{node.lineno}: {node.value!r}" for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
            and OUR_NAME.search(node.value)]


@pytest.mark.parametrize(("package", "variables"), PACKAGES, ids=["judgeval", "evaluator_service"])
def test_no_bare_variable_name_outside_the_one_module(package: ModuleType, variables: ModuleType) -> None:
    home = Path(variables.__file__)  # type: ignore[arg-type]
    sources = [p for p in _sources(package) if p != home]
    assert len(sources) > 20
    assert [hit for path in sources for hit in _bare_names(path)] == []


@pytest.mark.parametrize("variables", [v for _, v in PACKAGES], ids=["judgeval", "evaluator_service"])
def test_every_constant_is_its_own_name_with_a_docstring(variables: ModuleType) -> None:
    tree = ast.parse(Path(variables.__file__).read_text(encoding="utf-8"))  # type: ignore[arg-type]
    body = tree.body
    constants = [(i, s) for i, s in enumerate(body) if isinstance(s, ast.AnnAssign | ast.Assign)]
    assert constants
    for index, statement in constants:
        target = statement.target if isinstance(statement, ast.AnnAssign) else statement.targets[0]
        assert isinstance(target, ast.Name)
        value = getattr(variables, target.id)
        is_prefix = target.id.endswith("_PREFIX") and target.id.startswith(value)
        assert value == target.id or is_prefix, target.id
        following = body[index + 1] if index + 1 < len(body) else None
        assert isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant), \
            f"{target.id} has no docstring"
        assert target.id not in OTEL_NAMES, f"{target.id} is OpenTelemetry's: import it"


def test_the_evaluator_reads_the_admin_key_the_cli_sends() -> None:
    from evaluator_service.config import load_config

    assert load_config(environ={judgeval_variables.JUDGMENT_API_KEY: "k"}).api_key == "k"


@pytest.mark.parametrize("package", [p for p, _ in PACKAGES], ids=["judgeval", "evaluator_service"])
def test_opentelemetry_variables_are_imported_not_redefined(package: ModuleType) -> None:
    redefined = []
    for path in _sources(package):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in OTEL_NAMES:
                redefined.append(f"{path.name}:{node.lineno}: {node.value}")
    assert redefined == []
