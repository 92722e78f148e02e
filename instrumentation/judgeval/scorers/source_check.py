"""Find the scorer class in an uploaded Python file without executing it.

Both the ``judgeval`` CLI (before uploading) and the evaluator's registry (on receipt) use this, so the
user sees the same verdict on their laptop as the server gives; it lives beside the scorer classes so the
server never imports the CLI. The file is parsed with :mod:`ast`; a class
is a scorer when it derives from ``ExampleScorer`` by name, directly or through other classes defined in
the same file. The scorer's name is a literal ``name`` class attribute (plain or annotated).

A class deriving from ``TraceScorer`` instead is a trace scorer (its ``kind`` is ``"trace"``): it scores a
whole trajectory with ``a_score_trace``. The kind is what the evaluator stores with each version, so a trace
scorer is never run on a span nor an example scorer on a trajectory.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from judgeval.errors import JudgevalError

SCORER_BASE_NAME = "ExampleScorer"
TRACE_SCORER_BASE_NAME = "TraceScorer"

EXAMPLE_KIND = "example"
"""``kind`` of a scorer deriving from ``ExampleScorer`` (scores one span's example)."""
TRACE_KIND = "trace"
"""``kind`` of a scorer deriving from ``TraceScorer`` (scores a whole trace or session)."""
SCORER_KINDS = (EXAMPLE_KIND, TRACE_KIND)
_BASE_KINDS = {SCORER_BASE_NAME: EXAMPLE_KIND, TRACE_SCORER_BASE_NAME: TRACE_KIND}


class ScorerSourceError(JudgevalError, ValueError):
    """The file cannot be used as a scorer; the message says why and how to fix it."""


@dataclass(frozen=True, slots=True)
class ScorerClass:
    """One scorer class found in a source file."""

    class_name: str
    scorer_name: str | None
    line: int
    kind: str = EXAMPLE_KIND
    """:data:`EXAMPLE_KIND` or :data:`TRACE_KIND`: which base class it derives from."""


def find_scorer_classes(source: str, filename: str) -> list[ScorerClass]:
    """Every class in ``source`` deriving (by name) from ``ExampleScorer`` or ``TraceScorer``, in file order.

    Raises :class:`ScorerSourceError` for a syntax error, naming ``file:line:col``.
    """
    try:
        tree = ast.parse(source, filename=filename)
    except SyntaxError as exc:
        where = f"{filename}:{exc.lineno or 0}:{exc.offset or 0}"
        raise ScorerSourceError(f"{where}: syntax error: {exc.msg}") from None
    classes = [node for node in tree.body if isinstance(node, ast.ClassDef)]
    kinds = dict(_BASE_KINDS)  # class name -> kind, grown through the file's own subclasses
    changed = True
    while changed:  # a class may derive from a scorer class defined further down the file
        changed = False
        for node in classes:
            if node.name in kinds:
                continue
            kind = next((kinds[b] for b in map(_base_name, node.bases) if b in kinds), None)
            if kind is not None:
                kinds[node.name] = kind
                changed = True
    return [
        ScorerClass(node.name, _literal_name(node), node.lineno, kinds[node.name])
        for node in classes
        if node.name in kinds and node.name not in _BASE_KINDS
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
            f"(from judgeval.scorers.example_scorer import {SCORER_BASE_NAME}) or, to score whole "
            f"trajectories, from {TRACE_SCORER_BASE_NAME} "
            f"(from judgeval.scorers.trace_scorer import {TRACE_SCORER_BASE_NAME})"
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
