"""What a shipped source file imports, read with ``ast`` (module level and inside functions alike)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
JUDGEVAL_DIR = REPO_ROOT / "instrumentation" / "judgeval"
EVALUATOR_DIR = REPO_ROOT / "evaluator_service"
_PACKAGE_PARENTS = (REPO_ROOT / "instrumentation", REPO_ROOT)


def python_sources(package_dir: Path, skip: tuple[Path, ...] = ()) -> Iterator[Path]:
    """Every ``.py`` file under ``package_dir``, except those under a directory in ``skip``."""
    for path in sorted(package_dir.rglob("*.py")):
        if not any(path.is_relative_to(skipped) for skipped in skip):
            yield path


def package_of(path: Path) -> str:
    """The dotted package a source file belongs to (for an ``__init__.py``, its own package)."""
    parent = next(p for p in _PACKAGE_PARENTS if path.is_relative_to(p) and p != path)
    parts = list(path.relative_to(parent).with_suffix("").parts)
    return ".".join(parts[:-1])


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


def imports_of(path: Path) -> set[str]:
    """:func:`imported_modules` of the file at ``path``."""
    return imported_modules(path.read_text(encoding="utf-8"), package_of(path))
