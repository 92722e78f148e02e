"""``async_evaluate``: decide sampling, then tag the current span (hosted) or queue a local score.

Everything here runs on the caller's thread, so it does no I/O and nothing heavier than a pydantic dump
and a ``json.dumps``; a sampled-out call of a known scorer and example class does one context lookup and
one comparison. Sampling is a pure function of the trace id, so re-runs agree and a scorer with a
lower rate samples a subset of the traces a higher-rate scorer samples.
"""

from __future__ import annotations

import logging
import math
import threading
import warnings
from collections.abc import Callable
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import get_current_span

from judgeval import semconv
from judgeval.data import Example
from judgeval.scorers.example_scorer import ExampleScorer
from judgeval.tracer._evaluation_payload import encode_request
from judgeval.tracer._local_scoring import LocalScoringJob

logger = logging.getLogger("judgeval")

_LOW_56_BITS = (1 << 56) - 1
_SAMPLING_SPACE = float(1 << 56)
_TAG_LOCK = threading.Lock()
# Scorer and example classes that passed the isinstance checks: later calls skip them. Classes, so a
# dozen entries in practice; capped in case an app creates classes on the fly.
_VALID_SCORER_TYPES: set[type] = set()
_VALID_EXAMPLE_TYPES: set[type] = set()
_VALID_TYPES_CAP = 1024


class JudgevalUsageWarning(UserWarning):
    """A judgeval API was called in a way that cannot work; the call was ignored."""


def is_sampled(trace_id: int, sampling_rate: float) -> bool:
    """Deterministic sampling on the W3C-random low 56 bits of the trace id."""
    return (trace_id & _LOW_56_BITS) < sampling_rate * _SAMPLING_SPACE


def _warn(message: str) -> None:
    # stacklevel 4: _warn <- validate/evaluate <- Tracer.async_evaluate <- the user's code
    warnings.warn(message, JudgevalUsageWarning, stacklevel=4)


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
    span: trace.Span, scorer: ExampleScorer, example: Example, sampling_rate: float
) -> None:
    """Mark ``span`` pending and append the evaluation request to it."""
    request = encode_request(scorer, example, sampling_rate)
    with _TAG_LOCK:  # read-modify-write: two threads evaluating on one span must not lose a request
        attributes = getattr(span, "attributes", None) or {}
        existing = attributes.get(semconv.JUDGEVAL_EVAL_REQUESTS)
        scorers = tuple(attributes.get(semconv.JUDGEVAL_EVAL_SCORERS, ()))
        if scorer.name not in scorers:
            scorers += (scorer.name,)
        span.set_attributes(
            {
                semconv.JUDGEVAL_EVAL_STATUS: semconv.EvalStatus.PENDING.value,
                # the same text append_request writes, from the already-encoded request
                semconv.JUDGEVAL_EVAL_REQUESTS: (
                    f"{existing[:-1]},{request}]"
                    if isinstance(existing, str) and existing
                    else f"[{request}]"
                ),
                semconv.JUDGEVAL_EVAL_SCORERS: scorers,
            }
        )


def _remember_valid_types(scorer: Any, example: Any) -> None:
    if len(_VALID_SCORER_TYPES) + len(_VALID_EXAMPLE_TYPES) < _VALID_TYPES_CAP:
        _VALID_SCORER_TYPES.add(type(scorer))
        _VALID_EXAMPLE_TYPES.add(type(example))


def async_evaluate(
    scorer: Any,
    example: Any,
    sampling_rate: Any,
    submit_local: Callable[[LocalScoringJob], bool],
) -> None:
    """Validate, sample, then tag the current span or submit a local job. Never raises for misuse."""
    span = get_current_span()
    span_context = span.get_span_context()
    trace_id = span_context.trace_id
    rate_type = type(sampling_rate)
    known_valid = (
        type(scorer) in _VALID_SCORER_TYPES
        and type(example) in _VALID_EXAMPLE_TYPES
        and (rate_type is float or rate_type is int)
        and 0.0 <= sampling_rate <= 1.0  # False for NaN
    )
    # The common case first, as cheaply as possible: a known-good call in a trace that is not sampled
    # (is_sampled, inlined; trace id 0 is "no span", which must still warn below).
    if known_valid and trace_id and (trace_id & _LOW_56_BITS) >= sampling_rate * _SAMPLING_SPACE:
        return
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
    if not span.is_recording() or not is_sampled(trace_id, sampling_rate):
        return
    if scorer.server_hosted:
        tag_for_hosted_scoring(span, scorer, example, sampling_rate)
    else:
        # A private copy per run, with no reason or score left over from an earlier run of the instance.
        private = scorer.model_copy(update={"reason": None, "score": None})
        submit_local(LocalScoringJob(scorer=private, example=example, target=span_context))
