"""The root of every exception the ``judgeval`` SDK and CLI raise on purpose: catch :class:`JudgevalError`.

Branches live beside the code that raises them and keep their built-in base as a second one
(``tests/test_errors.py`` pins that every public exception class of the package derives from the
root)::

    JudgevalError
    ├── InvalidEvaluationRequest    evaluation_request   a malformed evaluation-request payload (ValueError)
    ├── InvalidInteractionRecord    interaction_record   a JSON object that is not an interaction record
    ├── InvalidDatasetRef           dataset_ref          a bad dataset name or NAME@V reference (ValueError)
    ├── InvalidTraceScorerConfig    tracer               a TraceScorerConfig that cannot work (ValueError)
    ├── CliError                    cli.admin_client     a CLI command failed; the message is what to print
    ├── EvaluationError             evaluation.errors    a replay could not run (bad input: ``bad_input``)
    ├── AgentCaseFailed             evaluation.agent_rerun  a re-run agent failed on one example (that case)
    └── ScorerSourceError           cli.scorer_source    an uploaded scorer file is unusable (ValueError)

The SDK never raises into the agent: internal errors are logged. Warnings (``JudgevalUsageWarning``) are
not errors and stay outside this tree. This module imports nothing.
"""

from __future__ import annotations


class JudgevalError(Exception):
    """Something the ``judgeval`` package detected and describes in its message; the root of its
    exception tree."""
