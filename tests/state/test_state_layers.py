"""The state package's imports point one way: no circle among ``evaluator_service/state/*.py``, and
nothing imported from the evaluator layers above it (behaviors, alerts, registry, ...).

The imports are read with :mod:`ast`, so a circle hidden behind ``if TYPE_CHECKING:`` or inside a function
counts too: it is still a circle in the design even when Python happens to load it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import evaluator_service.state

STATE_DIR = Path(evaluator_service.state.__file__).parent
PACKAGE = "evaluator_service.state"


def module_imports(path: Path, package: str) -> set[str]:
    """Every module ``path`` imports, as full dotted names (``from pkg import sub`` counts as ``pkg.sub``
    when ``sub`` is a module of ``pkg``'s folder)."""
    modules_here = {p.stem for p in path.parent.glob("*.py")}
    imported: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            base = node.module if node.level == 0 else f"{package}.{node.module}"
            submodules = {a.name for a in node.names if a.name in modules_here} if base == package else set()
            imported.update(f"{package}.{name}" for name in submodules)
            if len(submodules) < len(node.names):  # a name of the module itself (of __init__ for a package)
                imported.add(base)
    return imported


def import_graph(directory: Path, package: str) -> dict[str, set[str]]:
    """Module -> modules of the same package it imports (the package itself is ``package.__init__``)."""
    names = {p.stem: f"{package}.{p.stem}" for p in directory.glob("*.py")}
    graph: dict[str, set[str]] = {}
    for stem, name in names.items():
        imports = module_imports(directory / f"{stem}.py", package)
        inside = {f"{package}.__init__" if i == package else i for i in imports}
        graph[name] = {i for i in inside if i in names.values() and i != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle in ``graph`` (first module repeated at the end), or ``None``."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return [*path[path.index(node):], node]
        if node in done:
            return None
        for target in sorted(graph.get(node, ())):
            cycle = visit(target, [*path, node])
            if cycle:
                return cycle
        done.add(node)
        return None

    for start in sorted(graph):
        cycle = visit(start, [])
        if cycle:
            return cycle
    return None


def test_no_import_circle_inside_the_state_package() -> None:
    graph = import_graph(STATE_DIR, PACKAGE)
    assert len(graph) >= 10  # really read the package
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


BOTTOM_LAYER = {"evaluator_service.errors"}
"""Modules below every layer (the package's exception root), which state/ may import."""


def test_the_state_package_imports_no_higher_evaluator_layer() -> None:
    upward = {
        f"{path.name}: {name}"
        for path in STATE_DIR.glob("*.py")
        for name in module_imports(path, PACKAGE)
        if name.startswith("evaluator_service.") and not name.startswith(PACKAGE) and name not in BOTTOM_LAYER
    }
    assert upward == set()


def test_the_checker_finds_a_circle_hidden_behind_type_checking(tmp_path: Path) -> None:
    (tmp_path / "__init__.py").write_text("")
    (tmp_path / "a.py").write_text("from pkg.b import B\n")
    (tmp_path / "b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                   "    from pkg.c import C\n")
    (tmp_path / "c.py").write_text("from pkg import a\n")
    (tmp_path / "d.py").write_text("from pkg import c\nimport pkg.b\n")
    assert find_cycle(import_graph(tmp_path, "pkg")) == ["pkg.a", "pkg.b", "pkg.c", "pkg.a"]
    (tmp_path / "c.py").write_text("import os\n")
    assert find_cycle(import_graph(tmp_path, "pkg")) is None
