"""The root of every exception the evaluator raises on purpose: catch :class:`EvaluatorError`.

Each branch lives beside the code that raises it and derives from the root (``tests/test_errors.py``
pins that every public exception class of the package does); branches that callers already caught as a
built-in type keep it as a second base (``ConfigError`` is still a ``ValueError``)::

    EvaluatorError
    ├── ConfigError                 config_values      the YAML or a flag is invalid; names the field
    ├── StartupError                errors             the listen address, data dir or queue file refused
    ├── QueueFullError              queue              the durable queue is at its limit (OTLP UNAVAILABLE)
    │   ├── BatchTooLargeError                         one batch alone exceeds it
    │   └── DiskFullError                              the data directory's filesystem is (almost) full
    ├── IntakeRefused               intake             an OTLP export refused whole, with its gRPC status
    ├── StateUnavailable            state.contract     the state database cannot be reached
    ├── UnknownDataset              state.dataset_rows  no dataset of that name or version
    ├── SandboxUnavailable          sandbox.isolation     uploaded scorer code cannot be run safely here
    ├── WorkerFailed                sandbox.worker_handle  a sandbox worker process died or broke protocol
    │   └── WorkerInterrupted
    ├── ProtocolError               sandbox.protocol   a malformed frame between evaluator and worker
    ├── InvalidExample              sandbox.worker_process  the example handed to a worker is unusable
    ├── ScoringError                scoring.contract   a scorer produced no score (transient, fatal, ...)
    ├── OptionError                 scoring.builtin.options  a built-in scorer's option is invalid
    ├── PatternError, SchemaOptionError   scoring.builtin.patterns / .schema_validation  unsafe regex, schema
    ├── InvalidUpload, ScorerExists, ScorerNotFound, RequirementsInstallError   registry
    ├── BackendQueryError           backends.errors    a trace backend (Jaeger) query failed; names its URL
    │   ├── BackendUnreachable                         no answer: refused, unknown host, timeout
    │   └── BackendRefused                             the backend refused the query
    ├── BackfillRefused             backfill.plan      a backfill that cannot run as asked (its gRPC status)
    └── BinariesUnavailable, ProcessFailed, StackError                          localstack (dev runner)

This module imports nothing, so any layer may import it.
"""

from __future__ import annotations


class EvaluatorError(Exception):
    """Something the evaluator detected and describes in its message (never a password); the root of the
    evaluator's exception tree."""


class StartupError(EvaluatorError):
    """A resource the evaluator needs to start refused: the listen address is taken, the data directory
    cannot be created, or the queue file is not a database. The message is the underlying reason."""


def path_problem(path: object, exc: OSError) -> str:
    """What is wrong with a directory the evaluator needs (its data dir, the state database's folder), for
    a :class:`StartupError` line: ``"data: not a directory (it, or a folder above it, is a file)"``."""
    if isinstance(exc, (FileExistsError, NotADirectoryError)):
        return f"{path}: not a directory (it, or a folder above it, is a file)"
    return f"{path}: {exc.strerror or exc}"
