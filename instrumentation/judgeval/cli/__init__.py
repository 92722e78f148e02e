"""The ``judgeval`` command line: upload and manage server-hosted scorers on an evaluator.

``judgeval upload_scorer SCORER.py REQUIREMENTS.txt`` (as the docs spell it),
``judgeval scorers list|show|delete``, ``alerts``, ``behaviors`` and ``eval run`` (replays). Kept light:
the gRPC stubs are imported only when a command runs.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point; returns the process exit code (0 ok, 1 failed, 2 usage/input error; ``eval
    run`` also 3: the pass rate is below ``--min-pass-rate``)."""
    from judgeval.cli.commands import run

    code = run(sys.argv[1:] if argv is None else argv)
    if argv is None:
        sys.exit(code)
    return code


__all__ = ["main"]
