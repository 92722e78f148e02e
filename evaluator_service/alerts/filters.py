"""Which score events and behavior events an alert looks at: scorer, service, agent, environment and any
span or resource attribute (``where``). One :class:`AlertFilter` per alert; its :meth:`labels` are what a
notification carries and what silences match on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from judgeval import semconv

from evaluator_service.behaviors.events import BehaviorEvent
from evaluator_service.config_values import ConfigError, Section

ANY_SCORER = "*"

FILTER_KEYS = {"service": semconv.SERVICE_NAME, "agent": semconv.GEN_AI_AGENT_NAME,
               "environment": semconv.DEPLOYMENT_ENVIRONMENT_NAME}
"""Shorthand YAML keys and the attribute each one filters on."""


@dataclass(frozen=True, slots=True)
class AlertFilter:
    """``scorer`` (or ``*``) plus attribute equality matches (shorthands already expanded)."""

    scorer: str = ANY_SCORER
    where: dict[str, str] = field(default_factory=dict)

    def matches_score(self, scorer: str, attributes: Mapping[str, Any]) -> bool:
        """A score event of ``scorer`` whose span (over its resource) has ``attributes``."""
        if self.scorer not in (ANY_SCORER, scorer):
            return False
        return all(_equal(attributes.get(key), expected) for key, expected in self.where.items())

    def matches_behavior(self, event: BehaviorEvent) -> bool:
        """A behavior event: its scorer, its services/agents (any of them) and its attributes."""
        if self.scorer not in (ANY_SCORER, event.scorer):
            return False
        for key, expected in self.where.items():
            if key == semconv.SERVICE_NAME and event.services:
                ok = expected in event.services
            elif key == semconv.GEN_AI_AGENT_NAME and event.agents:
                ok = expected in event.agents
            else:
                ok = _equal(event.attributes.get(key), expected)
            if not ok:
                return False
        return True

    def labels(self) -> dict[str, str]:
        """The filter as notification labels (``scorer`` plus every attribute match)."""
        return {"scorer": self.scorer, **self.where}


def _equal(actual: Any, expected: str) -> bool:
    return actual is not None and (actual == expected or str(actual) == expected
                                   or (isinstance(actual, bool) and str(actual).lower() == expected.lower()))


def parse_filter(s: Section, *, scorer_required: bool) -> AlertFilter:
    """``scorer``, ``service``, ``agent``, ``environment`` and ``where`` of one alert entry."""
    if scorer_required:
        scorer = s.req_str("scorer", f"required (a scorer name, or {ANY_SCORER!r} for every scorer)")
    else:
        scorer = s.opt_str("scorer") or ANY_SCORER
    where = s.str_map("where")
    for key, attribute in FILTER_KEYS.items():
        value = s.opt_str(key)
        if value is None:
            continue
        if attribute in where and where[attribute] != value:
            raise ConfigError(f"{s.where(key)}: conflicts with where.{attribute}={where[attribute]!r}")
        where[attribute] = value
    return AlertFilter(scorer, where)
