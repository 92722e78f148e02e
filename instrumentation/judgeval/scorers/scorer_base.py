"""The fields every scorer has, shared by :class:`~judgeval.scorers.ExampleScorer` and
:class:`~judgeval.scorers.TraceScorer`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator


class ScorerBase(BaseModel):
    """``name`` (default: the class name), ``threshold`` (a score ``>= threshold`` passes), ``server_hosted``
    (run in the evaluator's sandbox, or in the agent process), and the ``reason`` and ``score`` of the last
    run. Extra public fields of a subclass are its configuration."""

    model_config = ConfigDict(extra="allow", arbitrary_types_allowed=True, validate_assignment=False)

    name: str = ""
    threshold: float = 0.5
    server_hosted: bool = False
    reason: str | None = None
    score: float | None = None

    @model_validator(mode="before")
    @classmethod
    def _default_name(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("name") and not cls.model_fields["name"].default:
            return {**data, "name": cls.__name__}
        return data
