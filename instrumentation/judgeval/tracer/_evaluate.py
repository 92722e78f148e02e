"""``async_evaluate``: decide sampling, then tag the current span (hosted) or queue a local score.

Everything here runs on the caller's thread, so it does no I/O and nothing heavier than a pydantic dump
and a ``json.dumps``; a sampled-out call of a known scorer and example class does one context lookup and
one comparison. Sampling is a pure function of the trace id (:mod:`judgeval.protocol.sampling`, the rule the
evaluator shares), so re-runs agree and a scorer with a lower rate samples a subset of the traces a
higher-rate scorer samples.
"""

from __future__ import annotations

import logging
import math
import threading
import warnings
from collections.abc import Callable
from typing import Any

from opentelemetry import trace

from judgeval import semconv
from judgeval.data import Example
from judgeval.protocol.evaluation_request import append_encoded
from judgeval.protocol.sampling import is_sampled
from judgeval.scorers.example_scorer import ExampleScorer
from judgeval.tracer._evaluation_payload import encode_request
from judgeval.tracer._local_scoring import LocalScoringJob

logger = logging.getLogger("judgeval")

_TAG_LOCK = threading.Lock()
# Scorer and example classes that passed the isinstance checks: later calls skip them. Classes, so a
# dozen entries in practice; capped in case an app creates classes on the fly.
VALID_SCORER_TYPES: set[type] = set()
VALID_EXAMPLE_TYPES: set[type] = set()
_VALID_TYPES_CAP = 1024


class JudgevalUsageWarning(UserWarning):
    """A judgeval API was called in a way that cannot work; the call was ignored."""


def _warn(message: str, depth: int = 0) -> None:
    # stacklevel 4: _warn <- evaluate <- Tracer.async_evaluate <- the user's code; ``depth`` more for helpers
    warnings.warn(message, JudgevalUsageWarning, stacklevel=4 + depth)


def _valid_rate(sampling_rate: Any) -> bool:
    return (
        not isinstance(sampling_rate, bool)
        and isinstance(sampling_rate, int | float)
        and math.isfinite(sampling_rate)
        and 0.0 <= sampling_rate <= 1.0
    )


def usage_problem(scorer: Any, example: Any, sampling_rate: Any) -> str | None:
    """Why this ``async_evaluate`` call cannot work, or ``None`` if it can."""
    if not isinstance(scorer, ExampleScorer):
        return (
            f"async_evaluate(scorer=...) needs an ExampleScorer instance, got {type(scorer).__name__}; "
            "subclass judgeval.scorers.example_scorer.ExampleScorer"
        )
    if not isinstance(example, Example):
        return (
            f"async_evaluate(example=...) needs a judgeval.data.Example, got {type(example).__name__}; "
            "wrap your fields in Example(...) or a subclass of it"
        )
    if not _valid_rate(sampling_rate):
        return f"async_evaluate(sampling_rate={sampling_rate!r}) must be a number between 0.0 and 1.0"
    return None


def tag_for_hosted_scoring(
    span: trace.Span, scorer: ExampleScorer, example: Example, sampling_rate: float,
    attribute_limit: int | None = None,
) -> None:
    """Mark ``span`` pending and append the evaluation request to it.

    ``attribute_limit`` is the span attribute length limit from the standard environment, if any: the SDK
    cuts longer values, and a cut request can only fail at the evaluator, so that is said here too.
    """
    request = encode_request(scorer, example, sampling_rate)
    with _TAG_LOCK:  # read-modify-write: two threads evaluating on one span must not lose a request
        attributes = getattr(span, "attributes", None) or {}
        existing = attributes.get(semconv.JUDGEVAL_EVAL_REQUESTS)
        # The two are always written together, so a first request skips the second lookup (a missing key
        # costs the SDK's attribute mapping an exception, ≈0.4 µs).
        scorers = tuple(attributes.get(semconv.JUDGEVAL_EVAL_SCORERS, ())) if existing else ()
        if scorer.name not in scorers:
            scorers += (scorer.name,)
        requests = append_encoded(existing if isinstance(existing, str) else None, request)
        span.set_attributes(
            {
                semconv.JUDGEVAL_EVAL_STATUS: semconv.EvalStatus.PENDING.value,
                semconv.JUDGEVAL_EVAL_REQUESTS: requests,
                semconv.JUDGEVAL_EVAL_SCORERS: scorers,
            }
        )
    if attribute_limit is not None and len(requests) > attribute_limit:
        _warn(
            f"the evaluation request of {scorer.name!r} is {len(requests)} characters, over the span "
            f"attribute length limit of {attribute_limit} (OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT / "
            "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT), so it will be cut and the evaluator will mark the span "
            "failed; raise the limit or send a smaller example",
            depth=1,
        )


def _remember_valid_types(scorer: Any, example: Any) -> None:
    if len(VALID_SCORER_TYPES) + len(VALID_EXAMPLE_TYPES) < _VALID_TYPES_CAP:
        VALID_SCORER_TYPES.add(type(scorer))
        VALID_EXAMPLE_TYPES.add(type(example))


def async_evaluate(
    scorer: Any,
    example: Any,
    sampling_rate: Any,
    submit_local: Callable[[LocalScoringJob], bool],
    span: trace.Span,
    attribute_limit: int | None = None,
) -> None:
    """Validate, sample, then tag ``span`` (the current span) or submit a local job. Never raises for misuse.

    ``Tracer.async_evaluate`` has already returned for the hot case, a known-good call in a trace that is
    not sampled (the same test as :func:`is_sampled`, inlined there to spare a call); everything else
    comes here.
    """
    span_context = span.get_span_context()
    rate_type = type(sampling_rate)
    known_valid = (
        type(scorer) in VALID_SCORER_TYPES
        and type(example) in VALID_EXAMPLE_TYPES
        and (rate_type is float or rate_type is int)
        and 0.0 <= sampling_rate <= 1.0  # False for NaN
    )
    if not known_valid:  # the full check, once per new scorer/example class, or for a rate to warn about
        problem = usage_problem(scorer, example, sampling_rate)
        if problem is not None:
            _warn(problem)
            return
        _remember_valid_types(scorer, example)
    if not span_context.is_valid:
        _warn(
            "async_evaluate was called outside any traced span, so there is nothing to attach the score to; "
            "call it inside a function decorated with @judgment.observe"
        )
        return
    if not span.is_recording() or not is_sampled(span_context.trace_id, sampling_rate):
        return
    if scorer.server_hosted:
        tag_for_hosted_scoring(span, scorer, example, sampling_rate, attribute_limit)
    else:
        # A private copy per run, with no reason or score left over from an earlier run of the instance.
        private = scorer.model_copy(update={"reason": None, "score": None})
        submit_local(LocalScoringJob(scorer=private, example=example, target=span_context))
