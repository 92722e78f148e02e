"""Errors of the trace backend readers, one branch of the evaluator's tree (:mod:`evaluator_service.errors`)::

    BackendQueryError        the backend answered something other than spans (names the URL and why)
    ├── BackendUnreachable   no answer: refused connection, unknown host, timeout
    └── BackendRefused       the backend refused the query (a bad filter, an unknown trace id format, ...)
"""

from __future__ import annotations

from evaluator_service.errors import EvaluatorError


class BackendQueryError(EvaluatorError):
    """A query to the trace backend failed; the message names the backend's URL and says why."""


class BackendUnreachable(BackendQueryError):
    """The backend did not answer (connection refused, unknown host, timeout)."""


class BackendRefused(BackendQueryError):
    """The backend answered the query with an error (HTTP 4xx/5xx), quoted in the message."""
