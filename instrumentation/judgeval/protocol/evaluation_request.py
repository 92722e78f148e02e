"""The evaluation-request payload: what ``async_evaluate`` writes onto a span and the evaluator reads.

The payload travels as a JSON array in the :data:`~judgeval.semconv.JUDGEVAL_EVAL_REQUESTS` span attribute,
one object per ``async_evaluate`` call on that span::

    {"v": 1,
     "scorer": {"name": "Package Inquiry Scorer", "class": "customer_service_scorer.PackageInquiryScorer",
                "threshold": 0.5, "server_hosted": true, "version": null, "config": {}},
     "example": {"request": "...", "response": "..."},
     "sampling_rate": 0.95}

A request made by an evaluator-side span rule carries no copy of the example: the example is the span's own
content, so the request names where each field comes from instead (``"example_from"``), and the evaluator
reads the fields from the span when it scores it::

    {"v": 1, "scorer": {...}, "example_from": {"input": "*", "actual_output": "llm.answer"},
     "sampling_rate": 1.0}

A source is a span attribute key (or pseudo field such as ``span.name``), or :data:`FROM_VOCABULARY`
(``"*"``): the field is resolved from whichever attribute vocabulary the span carries (GenAI, OpenInference,
OpenLLMetry, Judgment). ``"example"`` and ``"example_from"`` may both be present; ``example`` wins per field.

This module is the one spelling of the payload. :func:`request_json` writes a request object from its
already-encoded scorer and example, and :func:`append_encoded` adds it to the array; every encoder uses them:
:func:`encode_requests` here (the evaluator's span rules, tests), and the SDK's cached fast path
(``judgeval.tracer._evaluation_payload``, which only encodes the scorer and example parts faster).
Encoding is cheap because it runs on the caller's thread; decoding is strict and raises
:class:`InvalidEvaluationRequest` with a message that names the offending field, because it runs on
untrusted input in the evaluator.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from judgeval.errors import JudgevalError

PAYLOAD_VERSION = 1


FROM_VOCABULARY = "*"
"""An ``example_from`` source: resolve the field from whichever vocabulary the span carries."""


class InvalidEvaluationRequest(JudgevalError, ValueError):
    """The evaluation-request attribute is not valid JSON or does not follow the payload schema."""


@dataclass(frozen=True, slots=True)
class ScorerRef:
    """Which scorer to run and how it is configured."""

    name: str
    class_path: str = ""
    threshold: float = 0.5
    server_hosted: bool = True
    version: int | None = None
    config: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EvaluationRequest:
    """One requested score: a scorer applied to an example's fields."""

    scorer: ScorerRef
    example: dict[str, Any]
    sampling_rate: float = 1.0
    example_from: dict[str, str] = field(default_factory=dict)
    """Example fields to read from the span at scoring time: field name → source (see the module doc)."""


def scorer_object(ref: ScorerRef) -> dict[str, Any]:
    """The payload's ``"scorer"`` object for ``ref``, as plain JSON data."""
    return {
        "name": ref.name,
        "class": ref.class_path,
        "threshold": ref.threshold,
        "server_hosted": ref.server_hosted,
        "version": ref.version,
        "config": ref.config,
    }


encode_json = json.JSONEncoder(default=str, separators=(",", ":")).encode
"""The payload's JSON spelling: compact, ASCII, ``str()`` for what JSON cannot hold (built once)."""


def request_json(scorer_json: str, example_json: str, sampling_rate: float) -> str:
    """One request object, from its encoded ``"scorer"`` and ``"example"`` parts.

    ``sampling_rate`` must be finite (both sides validate it): it is spelled as ``json`` spells a float.
    """
    rate = float.__repr__(float(sampling_rate))
    return f'{{"v":{PAYLOAD_VERSION},"scorer":{scorer_json},"example":{example_json},"sampling_rate":{rate}}}'


def encode_request(request: EvaluationRequest) -> str:
    """One request object as JSON (an element of the attribute's array)."""
    encoded = request_json(
        encode_json(scorer_object(request.scorer)), encode_json(request.example), request.sampling_rate
    )
    if not request.example_from:
        return encoded
    return f'{encoded[:-1]},"example_from":{encode_json(request.example_from)}}}'


def encode_requests(requests: list[EvaluationRequest]) -> str:
    """Serialize requests for the span attribute; values that JSON cannot hold become their ``str()``."""
    return f"[{','.join(map(encode_request, requests))}]"


def append_encoded(existing: str | None, encoded: str) -> str:
    """Add one encoded request object to an already-encoded attribute value (or start the array)."""
    if not existing:
        return f"[{encoded}]"
    return f"{existing[:-1]},{encoded}]"


def append_request(existing: str | None, request: EvaluationRequest) -> str:
    """Add one request to an already-encoded attribute value (several ``async_evaluate`` on one span)."""
    return append_encoded(existing, encode_request(request))


def decode_requests(raw: object) -> list[EvaluationRequest]:
    """Parse and validate the attribute value; raises :class:`InvalidEvaluationRequest` naming the problem."""
    if not isinstance(raw, str):
        raise InvalidEvaluationRequest(f"must be a JSON string, got {type(raw).__name__}")
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidEvaluationRequest(f"is not valid JSON: {exc}") from None
    except RecursionError:
        raise InvalidEvaluationRequest("nests arrays or objects too deeply to decode") from None
    except ValueError as exc:  # e.g. an integer longer than int() converts (sys.get_int_max_str_digits)
        raise InvalidEvaluationRequest(f"cannot be decoded: {exc}") from None
    if not isinstance(data, list) or not data:
        raise InvalidEvaluationRequest("must be a non-empty JSON array of request objects")
    return [_decode_one(item, index) for index, item in enumerate(data)]


def _decode_one(item: object, index: int) -> EvaluationRequest:
    where = f"[{index}]"
    if not isinstance(item, dict):
        raise InvalidEvaluationRequest(f"{where} must be an object")
    version = item.get("v", PAYLOAD_VERSION)
    if version != PAYLOAD_VERSION:
        raise InvalidEvaluationRequest(f"{where}.v: unsupported payload version {_short(version)}")
    example = item.get("example", {})
    if not isinstance(example, dict):
        raise InvalidEvaluationRequest(f"{where}.example must be an object")
    return EvaluationRequest(
        example_from=_example_from(item.get("example_from"), f"{where}.example_from"),
        scorer=decode_scorer(item.get("scorer"), f"{where}.scorer"),
        example=example,
        sampling_rate=decode_sampling_rate(item.get("sampling_rate", 1.0), f"{where}.sampling_rate"),
    )


def decode_scorer(scorer: object, where: str) -> ScorerRef:
    """The payload's ``"scorer"`` object as a :class:`ScorerRef`; raises :class:`InvalidEvaluationRequest`
    naming the field (``where`` is its path in the payload, e.g. ``[0].scorer``)."""
    if not isinstance(scorer, dict):
        raise InvalidEvaluationRequest(f"{where} must be an object")
    name = scorer.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InvalidEvaluationRequest(f"{where}.name must be a non-empty string")
    config = scorer.get("config") or {}
    if not isinstance(config, dict):
        raise InvalidEvaluationRequest(f"{where}.config must be an object")
    return ScorerRef(
        name=name,
        class_path=_optional_str(scorer.get("class"), f"{where}.class"),
        threshold=_number(scorer.get("threshold", 0.5), f"{where}.threshold"),
        server_hosted=bool(scorer.get("server_hosted", True)),
        version=_optional_version(scorer.get("version"), f"{where}.version"),
        config=config,
    )


def decode_sampling_rate(value: object, where: str) -> float:
    """A request's ``sampling_rate`` (a finite number; rates outside [0, 1] act as 0 or 1)."""
    return _number(value, where)


def _example_from(value: object, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(source, str) and source for source in value.values()
    ):
        raise InvalidEvaluationRequest(f"{where} must be an object of field name to non-empty source string")
    return value


def _optional_str(value: object, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidEvaluationRequest(f"{where} must be a string")
    return value


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidEvaluationRequest(f"{where} must be a finite number, got {_short(value)}")
    try:
        number = float(value)
    except OverflowError:  # an integer too large for a float
        raise InvalidEvaluationRequest(f"{where} must be a finite number, got an integer of "
                                       f"{len(str(abs(value)))} digits") from None
    if not math.isfinite(number):
        raise InvalidEvaluationRequest(f"{where} must be a finite number, got {value!r}")
    return number


def _short(value: object, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters: error messages must not echo a huge payload back."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _optional_version(value: object, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value < 2**63:
        raise InvalidEvaluationRequest(f"{where} must be a positive integer or null, got {_short(value)}")
    return value
