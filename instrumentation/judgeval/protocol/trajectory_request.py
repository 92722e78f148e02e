"""The trajectory-scoring request: what ``@observe(scorer_config=TraceScorerConfig(...))`` writes onto the
span that bounds a trajectory, and the evaluator reads.

The payload travels as a JSON array in the :data:`~judgeval.semconv.JUDGEVAL_TRAJECTORY_REQUESTS` attribute of
the bounding span, one object per requested trace scorer::

    {"v": 1,
     "scorer": {"name": "Tool Loop Scorer", "class": "loops.ToolLoopScorer", "threshold": 0.5,
                "server_hosted": true, "version": null, "config": {"max_repeats": 3}},
     "scope": "trace", "sampling_rate": 0.5, "model": "gpt-4.1"}

``scorer`` has exactly the shape of an evaluation request's scorer (:func:`scorer_object`). ``scope`` is
``trace`` (the bounding span and every span below it) or ``session`` (every trace of the session the bounding
span belongs to). ``model`` names the judge model for scorers that call one (``null``: the evaluator's
default). Sampling is the same deterministic rule as ``async_evaluate`` (:mod:`judgeval.protocol.sampling`);
the SDK writes a request only for a sampled trace, and the evaluator re-checks ``sampling_rate``.

Decoding is strict and raises :class:`InvalidTrajectoryRequest` naming the offending field, because it runs
on untrusted input in the evaluator.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from judgeval.protocol.evaluation_request import (
    PAYLOAD_VERSION,
    InvalidEvaluationRequest,
    ScorerRef,
    decode_sampling_rate,
    decode_scorer,
    scorer_object,
)

TRAJECTORY_SCOPES = ("trace", "session")
"""Values of a request's ``scope`` (:class:`judgeval.semconv.TrajectoryScope` minus ``span``)."""


class InvalidTrajectoryRequest(InvalidEvaluationRequest):
    """The trajectory-request attribute is not valid JSON or does not follow the payload schema."""


@dataclass(frozen=True, slots=True)
class TrajectoryRequest:
    """One requested trajectory score: a trace scorer applied to the trajectory the span bounds."""

    scorer: ScorerRef
    scope: str = "trace"
    sampling_rate: float = 1.0
    model: str | None = None


def encode_trajectory_request(request: TrajectoryRequest) -> dict[str, Any]:
    """The payload object of ``request``, as plain JSON data."""
    return {
        "v": PAYLOAD_VERSION,
        "scorer": scorer_object(request.scorer),
        "scope": request.scope,
        "sampling_rate": request.sampling_rate,
        "model": request.model,
    }


def encode_trajectory_requests(requests: list[TrajectoryRequest]) -> str:
    """The attribute value for ``requests`` (a JSON array)."""
    return json.dumps([encode_trajectory_request(r) for r in requests], separators=(",", ":"))


def decode_trajectory_requests(raw: object) -> list[TrajectoryRequest]:
    """Parse and validate the attribute value; raises :class:`InvalidTrajectoryRequest` naming the problem."""
    if not isinstance(raw, str):
        raise InvalidTrajectoryRequest(f"must be a JSON string, got {type(raw).__name__}")
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidTrajectoryRequest(f"is not valid JSON: {exc}") from None
    except RecursionError:
        raise InvalidTrajectoryRequest("nests arrays or objects too deeply to decode") from None
    except ValueError as exc:  # e.g. an integer longer than int() converts
        raise InvalidTrajectoryRequest(f"cannot be decoded: {exc}") from None
    if not isinstance(data, list) or not data:
        raise InvalidTrajectoryRequest("must be a non-empty JSON array of request objects")
    return [_decode_one(item, f"[{index}]") for index, item in enumerate(data)]


def _decode_one(item: object, where: str) -> TrajectoryRequest:
    if not isinstance(item, dict):
        raise InvalidTrajectoryRequest(f"{where} must be an object")
    if item.get("v", PAYLOAD_VERSION) != PAYLOAD_VERSION:
        raise InvalidTrajectoryRequest(f"{where}.v: unsupported payload version")
    scope = item.get("scope", "trace")
    if scope not in TRAJECTORY_SCOPES:
        raise InvalidTrajectoryRequest(f"{where}.scope must be one of {', '.join(TRAJECTORY_SCOPES)}")
    model = item.get("model")
    if model is not None and not isinstance(model, str):
        raise InvalidTrajectoryRequest(f"{where}.model must be a string or null")
    try:
        scorer = decode_scorer(item.get("scorer"), f"{where}.scorer")
        rate = decode_sampling_rate(item.get("sampling_rate", 1.0), f"{where}.sampling_rate")
    except InvalidEvaluationRequest as exc:
        raise InvalidTrajectoryRequest(str(exc)) from None
    return TrajectoryRequest(scorer=scorer, scope=scope, sampling_rate=rate, model=model or None)


def request_json(scorer_json: str, scope: str, sampling_rate: float, model: str | None) -> str:
    """One request object, from its already-encoded ``"scorer"`` part (the SDK caches that part per scorer).

    Decodes to what :func:`encode_trajectory_request` writes for the same request; ``sampling_rate`` must be
    finite and ``scope`` one of :data:`TRAJECTORY_SCOPES`.
    """
    rate = float.__repr__(float(sampling_rate))
    return (
        f'{{"v":{PAYLOAD_VERSION},"scorer":{scorer_json},"scope":{json.dumps(scope)},'
        f'"sampling_rate":{rate},"model":{json.dumps(model)}}}'
    )
