"""One scored interaction as the improvement loop keeps it: what was scored, by which scorer, with what.

The evaluator builds one :class:`InteractionRecord` per result of a scored span (or trajectory); datasets
store them, exports write them (one JSON object per line for ``jsonl``), ``Dataset.pull`` and
``judgeval eval run`` read them back, and the console lists them. The JSON form is the contract between the
evaluator and the SDK/CLI, so both sides use :meth:`InteractionRecord.to_json` / :meth:`from_json` and
nothing else. Decoding is strict: a wrong field type raises :class:`InvalidInteractionRecord` naming it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

__all__ = ["InteractionRecord", "InvalidInteractionRecord", "record_id"]


class InvalidInteractionRecord(ValueError):
    """A JSON object that is not an interaction record; the message names the field."""


def record_id(trace_id: str, span_id: str, scorer: str) -> str:
    """The stable id of one scorer's result on one span: the same span scored again gets the same id."""
    return f"{trace_id}:{span_id}:{scorer}"


@dataclass(frozen=True, slots=True)
class InteractionRecord:
    """One scorer's result on one span or trajectory, with the example it read."""

    scorer: str
    """The scorer's name as requested (``"Package Inquiry Scorer"``)."""
    trace_id: str
    """32 lowercase hex digits."""
    span_id: str
    """16 lowercase hex digits: the scored span, or the span bounding a scored trajectory."""
    at: float
    """When the result was produced (Unix seconds)."""
    example: dict[str, Any]
    """The example fields the scorer read (after redaction, when stored)."""
    threshold: float
    score: float | None = None
    """``None``: the scorer produced no score (see :attr:`error_kind`)."""
    passed: bool | None = None
    """``None`` for a scoring error."""
    reason: str = ""
    error_kind: str | None = None
    """Why there is no score (``timeout``, ``unknown_scorer``, ...), else ``None``."""
    scorer_version: int | None = None
    """The uploaded scorer's version, when the request pinned one or the result came from one."""
    scope: str = "span"
    """``span``, ``trace`` or ``session`` (:class:`judgeval.semconv.TrajectoryScope`)."""
    service: str = ""
    agent: str = ""
    environment: str = ""
    """``deployment.environment.name``."""
    behavior_id: str | None = None
    """The behavior a failing result was placed in, if any."""
    attributes: dict[str, Any] = field(default_factory=dict)
    """Other span attributes worth keeping (e.g. ``gen_ai.request.model``); small values only."""
    latency_s: float | None = None
    """How long the scorer took (retries and waits for a rate budget included), when measured."""
    cost_usd: float | None = None
    """What the judge call cost, when the scorer knows it."""

    @property
    def id(self) -> str:
        return record_id(self.trace_id, self.span_id, self.scorer)

    def to_json(self) -> dict[str, Any]:
        """The JSON object form (``id`` included, for readers that only look)."""
        return {"id": self.id, **asdict(self)}

    @classmethod
    def from_json(cls, data: object) -> InteractionRecord:
        """Strictly decode :meth:`to_json`'s output (``id`` is ignored: it is derived)."""
        if not isinstance(data, dict):
            raise InvalidInteractionRecord(f"an interaction record must be a JSON object, got "
                                           f"{type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known - {"id"})
        if unknown:
            raise InvalidInteractionRecord(f"unknown field(s) {', '.join(unknown)}")
        for name in ("scorer", "trace_id", "span_id", "at", "example", "threshold"):
            if name not in data:
                raise InvalidInteractionRecord(f"missing field {name!r}")
        values = {k: v for k, v in data.items() if k in known}
        for name, kinds in _TYPES.items():
            if name in values and values[name] is not None and not isinstance(values[name], kinds):
                raise InvalidInteractionRecord(f"field {name!r} must be {_NAMES[name]}, got "
                                               f"{type(values[name]).__name__}")
            if name in values and values[name] is None and name not in _NULLABLE:
                raise InvalidInteractionRecord(f"field {name!r} must not be null")
        for name in ("at", "threshold", "score", "latency_s", "cost_usd"):
            if isinstance(values.get(name), bool):
                raise InvalidInteractionRecord(f"field {name!r} must be a number, got bool")
        return cls(**values)


_TYPES: dict[str, type | tuple[type, ...]] = {
    "scorer": str, "trace_id": str, "span_id": str, "at": (int, float), "example": dict,
    "threshold": (int, float), "score": (int, float), "passed": bool, "reason": str, "error_kind": str,
    "scorer_version": int, "scope": str, "service": str, "agent": str, "environment": str,
    "behavior_id": str, "attributes": dict, "latency_s": (int, float), "cost_usd": (int, float),
}
_KIND_NAMES: dict[type | tuple[type, ...], str] = {
    str: "a string", dict: "an object", bool: "true or false", int: "an integer", (int, float): "a number"}
_NAMES = {name: _KIND_NAMES[kinds] for name, kinds in _TYPES.items()}
_NULLABLE = frozenset({"score", "passed", "error_kind", "scorer_version", "behavior_id", "latency_s",
                       "cost_usd"})
