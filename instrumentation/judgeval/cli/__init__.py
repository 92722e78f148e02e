"""The ``judgeval`` command line: upload and manage server-hosted scorers on an evaluator.

``judgeval upload_scorer SCORER.py REQUIREMENTS.txt`` (as the docs spell it),
``judgeval scorers list|show|delete``, ``alerts``, ``behaviors`` and ``eval run`` (replays). Kept light:
the gRPC stubs are imported only when a command runs.
"""

from __future__ import annotations

import os
import sys

SIGPIPE_EXIT = 141
"""The exit code of a command whose reader went away (128 + SIGPIPE, as the shell reports a piped tool)."""


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point; returns the process exit code (0 ok, 1 failed, 2 usage/input error; ``eval
    run`` also 3: the pass rate is below ``--min-pass-rate``; 141: stdout's reader went away)."""
    from judgeval.cli.grpc_logging import quiet_grpc_logging

    quiet_grpc_logging()  # before anything imports grpc: our error messages say what went wrong
    from judgeval.cli.commands import run

    try:
        code = run(sys.argv[1:] if argv is None else argv)
        sys.stdout.flush()
    except BrokenPipeError:  # `judgeval behaviors list | head -3`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing left to flush at exit
        code = SIGPIPE_EXIT
    if argv is None:
        sys.exit(code)
    return code


__all__ = ["main"]
