"""The scoring sections of the evaluator config: ``scoring``, ``judge``, ``scorers`` and ``limits``.

The scorer runtime and the built-in scorers own these settings (as :mod:`evaluator_service.behaviors.settings`
and :mod:`evaluator_service.alerts.config` own theirs); :mod:`evaluator_service.config` only assembles them,
so the config module imports scoring and never the other way round.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from evaluator_service.config_values import ConfigError, Section
from evaluator_service.scoring.builtin.catalog import (
    BUILTIN_TYPES,
    JUDGE_TYPES,
    REQUIRED_OPTIONS,
    TRAJECTORY_JUDGE_TYPES,
    TRAJECTORY_TYPES,
)
from evaluator_service.scoring.judge_prices import ModelPrice, parse_prices

_ALL_TYPES = BUILTIN_TYPES | TRAJECTORY_TYPES
_ALL_JUDGE_TYPES = JUDGE_TYPES | TRAJECTORY_JUDGE_TYPES


@dataclass(frozen=True)
class ScoringConfig:
    """Worker defaults; a scorer entry may override timeout, retries and rate. The ``judge_calls_*`` bounds
    count LLM judge calls (each attempt, retries included): per span (calls over it end that request with
    a ``limit`` error on the span), per second over all judges and per second for each judge scorer that
    has no ``rate_limit`` of its own (calls over those wait their turn, at most ``judge_rate_wait_s``; a
    call that would wait longer ends with a ``limit`` error on the span)."""

    concurrency: int = 16
    timeout_s: float = 30.0
    max_retries: int = 3
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 10.0
    judge_calls_per_span: int = 10
    judge_calls_per_s: float = 500.0
    judge_calls_per_s_per_scorer: float = 100.0
    judge_rate_wait_s: float = 60.0


@dataclass(frozen=True)
class JudgeConfig:
    """Defaults for LLM judges: model, OpenAI-compatible base URL, and which env var holds the key."""

    model: str | None = "gpt-4o-mini"
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    prices: dict[str, ModelPrice] = field(default_factory=dict)
    """USD per million tokens by model name (``judge.prices``); a judge call's cost is known only for
    these models."""


@dataclass(frozen=True)
class ScorerConfig:
    """One named scorer from YAML: a built-in ``type`` with its model, options and limits."""

    name: str
    type: str
    model: str | None = None
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    timeout_s: float | None = None
    max_retries: int | None = None
    rate_limit: float | None = None
    fields: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    prices: dict[str, ModelPrice] = field(default_factory=dict)
    """The ``judge.prices`` table (what this scorer's judge calls cost)."""


@dataclass(frozen=True)
class ScorerLimits:
    """Per-scorer overrides of the scoring defaults, for scorers from any source (uploaded ones too)."""

    timeout_s: float | None = None
    max_retries: int | None = None
    rate_limit: float | None = None


def parse_scoring(s: Section) -> ScoringConfig:
    s.reject_unknown(
        frozenset({"concurrency", "timeout_s", "max_retries", "backoff_initial_s", "backoff_max_s",
                   "judge_calls_per_span", "judge_calls_per_s", "judge_calls_per_s_per_scorer",
                   "judge_rate_wait_s"})
    )
    d = ScoringConfig()
    return ScoringConfig(
        concurrency=s.integer("concurrency", d.concurrency, minimum=1),
        timeout_s=s.number("timeout_s", d.timeout_s, strict=True),
        max_retries=s.integer("max_retries", d.max_retries),
        backoff_initial_s=s.number("backoff_initial_s", d.backoff_initial_s),
        backoff_max_s=s.number("backoff_max_s", d.backoff_max_s),
        judge_calls_per_span=s.integer("judge_calls_per_span", d.judge_calls_per_span, minimum=1),
        judge_calls_per_s=s.number("judge_calls_per_s", d.judge_calls_per_s, strict=True),
        judge_calls_per_s_per_scorer=s.number(
            "judge_calls_per_s_per_scorer", d.judge_calls_per_s_per_scorer, strict=True),
        judge_rate_wait_s=s.number("judge_rate_wait_s", d.judge_rate_wait_s),
    )


def parse_judge(s: Section) -> JudgeConfig:
    s.reject_unknown(frozenset({"model", "base_url", "api_key_env", "prices"}))
    d = JudgeConfig()
    return JudgeConfig(
        model=s.opt_str("model") or d.model,
        base_url=s.opt_str("base_url"),
        api_key_env=s.opt_str("api_key_env") or d.api_key_env,
        prices=parse_prices(s.section("prices")),
    )


_SCORER_KEYS = frozenset(
    {"name", "type", "model", "base_url", "api_key_env", "timeout_s", "max_retries", "rate_limit", "fields",
     "options"}
)


def parse_scorers(items: list[Section], judge: JudgeConfig) -> tuple[ScorerConfig, ...]:
    scorers: list[ScorerConfig] = []
    seen: set[str] = set()
    for s in items:
        scorer = _parse_scorer(s, judge)
        if scorer.name in seen:
            raise ConfigError(f"{s.where('name')}: duplicate scorer name {scorer.name!r}")
        seen.add(scorer.name)
        scorers.append(scorer)
    return tuple(scorers)


def _parse_scorer(s: Section, judge: JudgeConfig) -> ScorerConfig:
    s.reject_unknown(_SCORER_KEYS)
    name = s.req_str("name")
    kind = s.req_str("type", f"required (one of: {', '.join(sorted(_ALL_TYPES))})")
    if kind not in _ALL_TYPES:
        known = ", ".join(sorted(_ALL_TYPES))
        raise ConfigError(f"{s.where('type')}: unknown type {kind!r} (one of: {known})")
    model = s.opt_str("model")
    if kind in _ALL_JUDGE_TYPES and not model:
        if s.has("base_url") or not judge.model:
            raise ConfigError(f"{s.where('model')}: required for type {kind}")
        model = judge.model
    options = s.mapping("options")
    for option in REQUIRED_OPTIONS.get(kind, ()):
        if option not in options:
            raise ConfigError(f"{s.where('options')}.{option}: required for type {kind}")
    _check_options(kind, options, s.where("options"))
    rate = s.number("rate_limit", 1.0, strict=True) if s.has("rate_limit") else None
    return ScorerConfig(
        name=name,
        type=kind,
        model=model,
        base_url=s.opt_str("base_url") or (judge.base_url if kind in _ALL_JUDGE_TYPES else None),
        api_key_env=s.opt_str("api_key_env") or judge.api_key_env,
        timeout_s=s.number("timeout_s", 0.0, strict=True) if s.has("timeout_s") else None,
        max_retries=s.integer("max_retries", 0) if s.has("max_retries") else None,
        rate_limit=rate,
        fields=s.str_map("fields"),
        options=options,
        prices=judge.prices,
    )


def _check_options(kind: str, options: dict[str, Any], where: str) -> None:
    # Imported lazily: validation needs the built-in module only when a scorer of that type is configured.
    from evaluator_service.scoring.builtin.options import OptionError, validate_options

    if kind in TRAJECTORY_TYPES:
        from evaluator_service.scoring.trajectory.options import (
            validate_trajectory_options as validate_options,
        )
    try:
        validate_options(kind, options)
    except OptionError as exc:
        raise ConfigError(f"{where}.{exc.field}: {exc.message}") from None


def parse_limits(s: Section) -> dict[str, ScorerLimits]:
    """``limits: {<scorer name>: {timeout_s, max_retries, rate_limit}}``."""
    limits: dict[str, ScorerLimits] = {}
    for name in s.data:
        entry = s.section(str(name))
        entry.reject_unknown(frozenset({"timeout_s", "max_retries", "rate_limit"}))
        limits[str(name)] = ScorerLimits(
            timeout_s=entry.number("timeout_s", 1.0, strict=True) if entry.has("timeout_s") else None,
            max_retries=entry.integer("max_retries", 0) if entry.has("max_retries") else None,
            rate_limit=entry.number("rate_limit", 1.0, strict=True) if entry.has("rate_limit") else None,
        )
    return limits
