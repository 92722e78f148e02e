"""Sections of the evaluator config: queue, scoring, export, judge defaults, scorers and rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from evaluator_service.config_values import ConfigError, Section
from evaluator_service.scoring.builtin.catalog import BUILTIN_TYPES, JUDGE_TYPES, REQUIRED_OPTIONS


@dataclass(frozen=True)
class QueueConfig:
    """Durable-queue limits: over either one, Export answers ``UNAVAILABLE`` so collectors retry."""

    max_spans: int = 100_000
    max_bytes: int = 1024 * 1024 * 1024


@dataclass(frozen=True)
class ScoringConfig:
    """Scoring defaults; a scorer entry may override timeout, retries and rate."""

    concurrency: int = 16
    timeout_s: float = 30.0
    max_retries: int = 3
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 10.0


@dataclass(frozen=True)
class ExportConfig:
    """Re-export to the downstream OTLP receiver."""

    batch_size: int = 512
    timeout_s: float = 10.0
    backoff_initial_s: float = 0.2
    backoff_max_s: float = 30.0


@dataclass(frozen=True)
class JudgeConfig:
    """Defaults for LLM judges: model, OpenAI-compatible base URL, and which env var holds the key."""

    model: str | None = "gpt-4o-mini"
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"


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


@dataclass(frozen=True)
class ScorerLimits:
    """Per-scorer overrides of the scoring defaults, for scorers from any source (uploaded ones too)."""

    timeout_s: float | None = None
    max_retries: int | None = None
    rate_limit: float | None = None


@dataclass(frozen=True)
class RuleConfig:
    """Score spans of zero-code apps: ``when`` all equalities hold, sampled by trace id."""

    name: str
    scorer: str
    when: dict[str, Any]
    sampling_rate: float = 1.0
    threshold: float = 0.5
    example: dict[str, str] = field(default_factory=dict)


def parse_queue(s: Section) -> QueueConfig:
    s.reject_unknown(frozenset({"max_spans", "max_bytes"}))
    d = QueueConfig()
    return QueueConfig(
        max_spans=s.integer("max_spans", d.max_spans, minimum=1),
        max_bytes=s.integer("max_bytes", d.max_bytes, minimum=1),
    )


def parse_scoring(s: Section) -> ScoringConfig:
    s.reject_unknown(
        frozenset({"concurrency", "timeout_s", "max_retries", "backoff_initial_s", "backoff_max_s"})
    )
    d = ScoringConfig()
    return ScoringConfig(
        concurrency=s.integer("concurrency", d.concurrency, minimum=1),
        timeout_s=s.number("timeout_s", d.timeout_s, strict=True),
        max_retries=s.integer("max_retries", d.max_retries),
        backoff_initial_s=s.number("backoff_initial_s", d.backoff_initial_s),
        backoff_max_s=s.number("backoff_max_s", d.backoff_max_s),
    )


def parse_export(s: Section) -> ExportConfig:
    s.reject_unknown(frozenset({"batch_size", "timeout_s", "backoff_initial_s", "backoff_max_s"}))
    d = ExportConfig()
    return ExportConfig(
        batch_size=s.integer("batch_size", d.batch_size, minimum=1),
        timeout_s=s.number("timeout_s", d.timeout_s, strict=True),
        backoff_initial_s=s.number("backoff_initial_s", d.backoff_initial_s),
        backoff_max_s=s.number("backoff_max_s", d.backoff_max_s),
    )


def parse_judge(s: Section) -> JudgeConfig:
    s.reject_unknown(frozenset({"model", "base_url", "api_key_env"}))
    d = JudgeConfig()
    return JudgeConfig(
        model=s.opt_str("model") or d.model,
        base_url=s.opt_str("base_url"),
        api_key_env=s.opt_str("api_key_env") or d.api_key_env,
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
    kind = s.req_str("type", f"required (one of: {', '.join(sorted(BUILTIN_TYPES))})")
    if kind not in BUILTIN_TYPES:
        known = ", ".join(sorted(BUILTIN_TYPES))
        raise ConfigError(f"{s.where('type')}: unknown type {kind!r} (one of: {known})")
    model = s.opt_str("model")
    if kind in JUDGE_TYPES and not model:
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
        base_url=s.opt_str("base_url") or (judge.base_url if kind in JUDGE_TYPES else None),
        api_key_env=s.opt_str("api_key_env") or judge.api_key_env,
        timeout_s=s.number("timeout_s", 0.0, strict=True) if s.has("timeout_s") else None,
        max_retries=s.integer("max_retries", 0) if s.has("max_retries") else None,
        rate_limit=rate,
        fields=s.str_map("fields"),
        options=options,
    )


def _check_options(kind: str, options: dict[str, Any], where: str) -> None:
    # Imported lazily: validation needs the built-in module only when a scorer of that type is configured.
    from evaluator_service.scoring.builtin.options import OptionError, validate_options

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


_RULE_KEYS = frozenset({"name", "when", "sampling_rate", "scorer", "threshold", "example"})


def parse_rules(items: list[Section]) -> tuple[RuleConfig, ...]:
    rules: list[RuleConfig] = []
    for s in items:
        s.reject_unknown(_RULE_KEYS)
        when = s.mapping("when")
        if not when:
            raise ConfigError(f"{s.where('when')}: required (a mapping of attribute key to value)")
        for key, value in when.items():
            if not isinstance(value, str | int | float | bool):
                raise ConfigError(f"{s.where('when')}.{key}: must be a scalar value")
        rate = s.number("sampling_rate", 1.0)
        if rate > 1:
            raise ConfigError(f"{s.where('sampling_rate')}: must be between 0 and 1, got {rate!r}")
        rules.append(
            RuleConfig(
                name=s.req_str("name"),
                scorer=s.req_str("scorer"),
                when={str(k): v for k, v in when.items()},
                sampling_rate=rate,
                threshold=s.number("threshold", 0.5),
                example=s.str_map("example"),
            )
        )
    return tuple(rules)

