"""The ``judgeval-evaluator`` console script (and ``python -m evaluator_service``): checks that the server
extra is installed, then runs the server (:mod:`evaluator_service.server_command`).

A plain ``pip install judgeval-otel`` is the SDK and the ``judgeval`` CLI only; the server's own
dependencies come with ``pip install 'judgeval-otel[evaluator]'``. Without them this prints one line
saying what to install and exits 1, instead of an ``ImportError`` traceback from deep inside the server.
What the extra holds is read from the installed distribution's metadata, so ``pyproject.toml`` stays the
one place it is written. This module imports nothing from the server before the check passes. Then,
as a container's PID 1, it splits off a minimal init that reaps orphans
(:mod:`evaluator_service.init_process`).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from importlib import metadata

DISTRIBUTION = "judgeval-otel"
EXTRA = "evaluator"
INSTALL_COMMAND = f"pip install '{DISTRIBUTION}[{EXTRA}]'"
EXIT_MISSING_EXTRA = 1

_EXTRA_MARKER = re.compile(rf"""\bextra\s*==\s*["']{EXTRA}["']""")
_PROJECT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def extra_requirements(requires: Iterable[str]) -> list[str]:
    """Project names of the ``Requires-Dist`` entries that only the server extra brings.

    ``requires`` is what ``importlib.metadata.requires`` returns, e.g.
    ``'psycopg[binary]>=3.2; extra == "evaluator"'`` → ``psycopg``.
    """
    names: list[str] = []
    for requirement in requires:
        spec, _, marker = requirement.partition(";")
        name = _PROJECT_NAME.match(spec.strip())
        if name and _EXTRA_MARKER.search(marker):
            names.append(name.group(0))
    return names


def missing_distributions(names: Iterable[str]) -> list[str]:
    """The names in ``names`` with no installed distribution, in order."""
    missing: list[str] = []
    for name in names:
        try:
            metadata.distribution(name)
        except metadata.PackageNotFoundError:
            missing.append(name)
    return missing


def missing_server_dependencies() -> list[str]:
    """What the server extra would install but is not installed; empty when the check cannot tell.

    Run from a source tree that was never installed there is no metadata to read; the server then
    starts (or fails) as it would without this check.
    """
    try:
        requires = metadata.requires(DISTRIBUTION) or []
    except metadata.PackageNotFoundError:
        return []
    return missing_distributions(extra_requirements(requires))


def main(argv: list[str] | None = None) -> None:
    """Console entry point of ``judgeval-evaluator``."""
    missing = missing_server_dependencies()
    if missing:
        print(f"judgeval-evaluator needs the server extra: {INSTALL_COMMAND} "
              f"(missing: {', '.join(missing)})", file=sys.stderr, flush=True)
        sys.exit(EXIT_MISSING_EXTRA)
    from evaluator_service.init_process import reap_orphans_when_pid1

    reap_orphans_when_pid1()  # as a container's PID 1: a minimal init reaps orphans, the evaluator runs on
    from evaluator_service.server_command import main as serve

    serve(argv)
