"""The ``datasets:`` section of the evaluator config: which scored interactions are kept in which dataset.

::

    datasets:
      queue_size: 10000             # records waiting to be written (beyond: counted as dropped, queue_full)
      batch_size: 200               # records per database write
      flush_interval_s: 1.0         # a partial batch is written after this long
      retention_interval_s: 300     # how often retention runs (removals are a new dataset version)
      redaction:                    # applied to every stored string (example, reason, attributes)
        builtin: true               # emails, phone numbers, card numbers (Luhn), bearer tokens, API keys
        patterns:                   # your own (RE2 syntax), applied after the built-in ones
          - {name: order_id, regex: "ORD-[0-9]{8}"}
      rules:
        - dataset: tone-failures    # created on first use
          description: failing answers of the tone judge
          scorers: [Tone]           # any scorer when absent
          outcome: failed           # failed (default) | passed | error | any
          sample: 1.0               # share kept, decided from the trace id (same traces for every rule)
          behaviors: ["*"]          # behavior ids; "*": any failure placed in a behavior
          services: [shop]          # also agents: [...], environments: [...]
          max_examples: 10000       # retention: newest examples kept
          max_age: 720h             # retention: older examples removed
          redaction:                # extra patterns for this rule's dataset only
            patterns: [{name: customer, regex: "CUST-[0-9]+"}]

Several rules may fill one dataset (e.g. every failure and 5% of passes); they must then agree on its
description and retention.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from judgeval.protocol.dataset_ref import dataset_name_problem

from evaluator_service.config_values import ConfigError, Section, parse_duration
from evaluator_service.scoring.builtin.patterns import PatternError, compile_pattern

OUTCOMES = ("failed", "passed", "error", "any")
ANY_BEHAVIOR = "*"


@dataclass(frozen=True)
class RedactionPattern:
    """A user regex (RE2 syntax); matches are replaced by ``[REDACTED:<name>]``."""

    name: str
    regex: str


@dataclass(frozen=True)
class RedactionConfig:
    """What is redacted before a record is stored."""

    builtin: bool = True
    patterns: tuple[RedactionPattern, ...] = ()


@dataclass(frozen=True)
class DatasetRule:
    """Which records go into ``dataset`` (empty selectors: any)."""

    dataset: str
    description: str = ""
    scorers: tuple[str, ...] = ()
    outcome: str = "failed"
    sample: float = 1.0
    behaviors: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    agents: tuple[str, ...] = ()
    environments: tuple[str, ...] = ()
    max_examples: int | None = None
    max_age_s: float | None = None
    redaction: tuple[RedactionPattern, ...] = ()
    """Patterns for this rule's records only, applied after the section's."""


@dataclass(frozen=True)
class DatasetsConfig:
    """The dataset rules and how their records are written."""

    rules: tuple[DatasetRule, ...] = ()
    redaction: RedactionConfig = field(default_factory=RedactionConfig)
    queue_size: int = 10_000
    batch_size: int = 200
    flush_interval_s: float = 1.0
    retention_interval_s: float = 300.0


_KEYS = frozenset({"rules", "redaction", "queue_size", "batch_size", "flush_interval_s",
                   "retention_interval_s"})
_RULE_KEYS = frozenset({"dataset", "description", "scorers", "outcome", "sample", "behaviors", "services",
                        "agents", "environments", "max_examples", "max_age", "redaction"})


def parse_datasets(s: Section) -> DatasetsConfig:
    s.reject_unknown(_KEYS)
    d = DatasetsConfig()
    rules = tuple(_rule(r) for r in s.section_list("rules"))
    _check_agreement(rules, s.where("rules"))
    return DatasetsConfig(
        rules=rules, redaction=_redaction(s.section("redaction"), allow_builtin=True),
        queue_size=s.integer("queue_size", d.queue_size, minimum=1),
        batch_size=s.integer("batch_size", d.batch_size, minimum=1),
        flush_interval_s=s.number("flush_interval_s", d.flush_interval_s, minimum=0.0, strict=True),
        retention_interval_s=s.number("retention_interval_s", d.retention_interval_s, minimum=0.0,
                                      strict=True),
    )


def _rule(s: Section) -> DatasetRule:
    s.reject_unknown(_RULE_KEYS)
    name = s.req_str("dataset", "required: the dataset's name")
    if (problem := dataset_name_problem(name)) is not None:
        raise ConfigError(f"{s.where('dataset')}: {problem}")
    outcome = s.opt_str("outcome") or "failed"
    if outcome not in OUTCOMES:
        raise ConfigError(f"{s.where('outcome')}: must be one of {', '.join(OUTCOMES)}, got {outcome!r}")
    sample = s.number("sample", 1.0)
    if sample > 1.0:
        raise ConfigError(f"{s.where('sample')}: must be a share between 0 and 1, got {sample:g}")
    max_examples = s.integer("max_examples", 0, minimum=1) if s.has("max_examples") else None
    max_age = parse_duration(s.data["max_age"], s.where("max_age")) if s.has("max_age") else None
    extra = _redaction(s.section("redaction"), allow_builtin=False).patterns
    return DatasetRule(
        dataset=name, description=s.opt_str("description") or "", scorers=_names(s, "scorers"),
        outcome=outcome, sample=sample, behaviors=_names(s, "behaviors"), services=_names(s, "services"),
        agents=_names(s, "agents"), environments=_names(s, "environments"), max_examples=max_examples,
        max_age_s=max_age, redaction=extra)


def _names(s: Section, key: str) -> tuple[str, ...]:
    value = s.data.get(key)
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{s.where(key)}: must be a list of non-empty strings")
    return tuple(value)


def _redaction(s: Section, *, allow_builtin: bool) -> RedactionConfig:
    s.reject_unknown(frozenset({"builtin", "patterns"}) if allow_builtin else frozenset({"patterns"}))
    builtin = s.data.get("builtin", True)
    if not isinstance(builtin, bool):
        raise ConfigError(f"{s.where('builtin')}: must be true or false, got {builtin!r}")
    patterns = []
    for p in s.section_list("patterns"):
        p.reject_unknown(frozenset({"name", "regex"}))
        name, regex = p.req_str("name"), p.req_str("regex")
        try:
            compile_pattern(regex)
        except PatternError as exc:
            raise ConfigError(f"{p.where('regex')}: {exc}") from None
        patterns.append(RedactionPattern(name, regex))
    return RedactionConfig(builtin, tuple(patterns))


def _check_agreement(rules: tuple[DatasetRule, ...], where: str) -> None:
    first: dict[str, DatasetRule] = {}
    for index, rule in enumerate(rules):
        seen = first.setdefault(rule.dataset, rule)
        if (seen.description, seen.max_examples, seen.max_age_s) != (
                rule.description, rule.max_examples, rule.max_age_s) and seen is not rule:
            raise ConfigError(f"{where}[{index}]: dataset {rule.dataset!r} is filled by an earlier rule with "
                              "another description or retention; rules of one dataset must agree")
