"""The evaluation-request payload: what ``async_evaluate`` writes onto a span and the evaluator reads.

The payload travels as a JSON array in the :data:`~judgeval.semconv.JUDGEVAL_EVAL_REQUESTS` span attribute,
one object per ``async_evaluate`` call on that span::

    {"v": 1,
     "scorer": {"name": "Package Inquiry Scorer", "class": "customer_service_scorer.PackageInquiryScorer",
                "threshold": 0.5, "server_hosted": true, "version": null, "config": {}},
     "example": {"request": "...", "response": "..."},
     "sampling_rate": 0.95}

Encoding is cheap (``json.dumps`` of plain data) because it runs on the caller's thread; decoding is strict
and raises :class:`InvalidEvaluationRequest` with a message that names the offending field, because it
runs on untrusted input in the evaluator.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from judgeval.errors import JudgevalError

PAYLOAD_VERSION = 1


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

    def to_json_obj(self) -> dict[str, Any]:
        s = self.scorer
        return {
            "v": PAYLOAD_VERSION,
            "scorer": {
                "name": s.name,
                "class": s.class_path,
                "threshold": s.threshold,
                "server_hosted": s.server_hosted,
                "version": s.version,
                "config": s.config,
            },
            "example": self.example,
            "sampling_rate": self.sampling_rate,
        }


def encode_requests(requests: list[EvaluationRequest]) -> str:
    """Serialize requests for the span attribute; values that JSON cannot hold become their ``str()``."""
    return json.dumps([r.to_json_obj() for r in requests], default=str, separators=(",", ":"))


def append_request(existing: str | None, request: EvaluationRequest) -> str:
    """Add one request to an already-encoded attribute value (several ``async_evaluate`` on one span)."""
    new = json.dumps(request.to_json_obj(), default=str, separators=(",", ":"))
    if not existing:
        return f"[{new}]"
    return f"{existing[:-1]},{new}]"


def decode_requests(raw: object) -> list[EvaluationRequest]:
    """Parse and validate the attribute value; raises :class:`InvalidEvaluationRequest` naming the problem."""
    if not isinstance(raw, str):
        raise InvalidEvaluationRequest(f"must be a JSON string, got {type(raw).__name__}")
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidEvaluationRequest(f"is not valid JSON: {exc}") from None
    if not isinstance(data, list) or not data:
        raise InvalidEvaluationRequest("must be a non-empty JSON array of request objects")
    return [_decode_one(item, index) for index, item in enumerate(data)]


def _decode_one(item: object, index: int) -> EvaluationRequest:
    where = f"[{index}]"
    if not isinstance(item, dict):
        raise InvalidEvaluationRequest(f"{where} must be an object")
    version = item.get("v", PAYLOAD_VERSION)
    if version != PAYLOAD_VERSION:
        raise InvalidEvaluationRequest(f"{where}.v: unsupported payload version {version!r}")
    scorer = item.get("scorer")
    if not isinstance(scorer, dict):
        raise InvalidEvaluationRequest(f"{where}.scorer must be an object")
    name = scorer.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InvalidEvaluationRequest(f"{where}.scorer.name must be a non-empty string")
    example = item.get("example", {})
    if not isinstance(example, dict):
        raise InvalidEvaluationRequest(f"{where}.example must be an object")
    config = scorer.get("config") or {}
    if not isinstance(config, dict):
        raise InvalidEvaluationRequest(f"{where}.scorer.config must be an object")
    return EvaluationRequest(
        scorer=ScorerRef(
            name=name,
            class_path=_optional_str(scorer.get("class"), f"{where}.scorer.class"),
            threshold=_number(scorer.get("threshold", 0.5), f"{where}.scorer.threshold"),
            server_hosted=bool(scorer.get("server_hosted", True)),
            version=_optional_version(scorer.get("version"), f"{where}.scorer.version"),
            config=config,
        ),
        example=example,
        sampling_rate=_number(item.get("sampling_rate", 1.0), f"{where}.sampling_rate"),
    )


def _optional_str(value: object, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidEvaluationRequest(f"{where} must be a string")
    return value


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidEvaluationRequest(f"{where} must be a finite number, got {value!r}")
    return float(value)


def _optional_version(value: object, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidEvaluationRequest(f"{where} must be a positive integer or null, got {value!r}")
    return value
