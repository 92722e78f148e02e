"""What every built-in scorer shares: its config, merged options and example-field access."""

from __future__ import annotations

import json
from typing import Any

from judgeval.protocol.evaluation_request import EvaluationRequest

from evaluator_service.scoring.builtin.catalog import DETERMINISTIC_TYPES
from evaluator_service.scoring.builtin.options import OptionError, validate_options
from evaluator_service.scoring.contract import InvalidExampleError, ScoreOutcome
from evaluator_service.scoring.settings import ScorerConfig


class BuiltinScorer:
    """Base of the built-in scorers. Example fields are read by their documented names (``input``,
    ``actual_output``, ``context``, ...) after the scorer's ``fields`` mapping renames them."""

    reads_span = False

    def __init__(self, config: ScorerConfig) -> None:
        self.config = config
        self.name = config.name
        self._own_options: dict[str, Any] | None = None
        """The YAML options once validated: what every request without its own ``scorer.config`` gets."""

    async def score(self, example: dict[str, Any], request: EvaluationRequest) -> ScoreOutcome:
        """Score one example; subclasses implement it."""
        raise NotImplementedError

    @property
    def inline(self) -> bool:
        """Deterministic types finish small inputs without awaiting, so the runner calls them directly (no
        task, no timeout machinery); with a large input they await their bounded off-loop run, and the
        runner's inline pass hands them to its async path (:mod:`.bounded`). LLM judges are never inline."""
        return self.config.type in DETERMINISTIC_TYPES

    def options(self, request: EvaluationRequest) -> dict[str, Any]:
        """YAML options over the request's ``scorer.config`` (YAML wins: operators decide), validated.

        The result is shared between calls: treat it as read-only."""
        if request.scorer.config:
            return self._validated({**request.scorer.config, **self.config.options})
        if self._own_options is None:  # validated once, not per span (a failure is not cached)
            self._own_options = self._validated(dict(self.config.options))
        return self._own_options

    def _validated(self, options: dict[str, Any]) -> dict[str, Any]:
        try:
            validate_options(self.config.type, options)
        except OptionError as exc:
            raise InvalidExampleError(f"scorer config {exc.field}: {exc.message}") from None
        return options

    def field(self, example: dict[str, Any], name: str, *, required: bool = True) -> Any:
        """The example value for the scorer field ``name`` (renamed by ``fields``)."""
        key = self.config.fields.get(name, name)
        if key not in example or example[key] is None:
            if required:
                raise InvalidExampleError(f"example has no field {key!r} (needed as {name!r})")
            return None
        return example[key]

    def text(self, example: dict[str, Any], name: str, *, required: bool = True) -> str:
        """A field as text: strings as-is, lists of strings joined by lines, anything else as JSON."""
        value = self.field(example, name, required=required)
        return as_text(value)


def as_text(value: Any) -> str:
    """Render an example value for a prompt or a pattern."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "\n".join(value)
    return json.dumps(value, ensure_ascii=False, default=str)
