"""Find the scorer class in an uploaded Python file without executing it.

Both the ``judgeval`` CLI (before uploading) and the evaluator's registry (on receipt) use this, so the
user sees the same verdict on their laptop as the server gives; it lives beside the scorer classes so the
server never imports the CLI. The file is parsed with :mod:`ast`; a class
is a scorer when it derives from ``ExampleScorer`` by name, directly or through other classes defined in
the same file. The scorer's name is a literal ``name`` class attribute (plain or annotated).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from judgeval.errors import JudgevalError

SCORER_BASE_NAME = "ExampleScorer"


class ScorerSourceError(JudgevalError, ValueError):
    """The file cannot be used as a scorer; the message says why and how to fix it."""


@dataclass(frozen=True, slots=True)
class ScorerClass:
    """One scorer class found in a source file."""

    class_name: str
    scorer_name: str | None
    line: int


def find_scorer_classes(source: str, filename: str) -> list[ScorerClass]:
    """Every class in ``source`` deriving (by name) from ``ExampleScorer``, in file order.

    Raises :class:`ScorerSourceError` for a syntax error, naming ``file:line:col``.
    """
    try:
        tree = ast.parse(source, filename=filename)
    except SyntaxError as exc:
        where = f"{filename}:{exc.lineno or 0}:{exc.offset or 0}"
        raise ScorerSourceError(f"{where}: syntax error: {exc.msg}") from None
    classes = [node for node in tree.body if isinstance(node, ast.ClassDef)]
    scorer_names = {SCORER_BASE_NAME}
    changed = True
    while changed:  # a class may derive from a scorer class defined further down the file
        changed = False
        for node in classes:
            if node.name not in scorer_names and any(_base_name(b) in scorer_names for b in node.bases):
                scorer_names.add(node.name)
                changed = True
    return [
        ScorerClass(node.name, _literal_name(node), node.lineno)
        for node in classes
        if node.name in scorer_names and node.name != SCORER_BASE_NAME
    ]


def select_scorer_class(source: str, filename: str, class_name: str | None = None) -> ScorerClass:
    """The one scorer class to upload: ``class_name`` if given, else the file's only scorer class."""
    found = find_scorer_classes(source, filename)
    if class_name:
        for scorer in found:
            if scorer.class_name == class_name:
                return scorer
        available = ", ".join(s.class_name for s in found) or "none"
        raise ScorerSourceError(
            f"{filename}: no scorer class named {class_name!r} (scorer classes found: {available})"
        )
    if not found:
        raise ScorerSourceError(
            f"{filename}: no scorer class found; define a class deriving from {SCORER_BASE_NAME} "
            f"(from judgeval.scorers.example_scorer import {SCORER_BASE_NAME})"
        )
    if len(found) > 1:
        listed = ", ".join(f"{s.class_name} (line {s.line})" for s in found)
        raise ScorerSourceError(
            f"{filename}: several scorer classes found: {listed}; pick one with --class NAME"
        )
    return found[0]


def _base_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):  # e.g. example_scorer.ExampleScorer
        return node.attr
    if isinstance(node, ast.Subscript):  # e.g. Generic-style ExampleScorer[...]
        return _base_name(node.value)
    return None


def _literal_name(node: ast.ClassDef) -> str | None:
    for stmt in node.body:
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            target, value = stmt.target.id, stmt.value
        elif (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
              and isinstance(stmt.targets[0], ast.Name)):
            target, value = stmt.targets[0].id, stmt.value
        else:
            continue
        if target == "name" and isinstance(value, ast.Constant) and isinstance(value.value, str):
            return value.value
    return None
