"""Sections of the evaluator config that belong to no component package: queue, export and rules.

The scoring sections (``scoring``, ``judge``, ``scorers``, ``limits``) live in
:mod:`evaluator_service.scoring.settings`, beside the scorers they configure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from judgeval.protocol.evaluation_request import FROM_VOCABULARY
from judgeval.protocol.span_content import RESOLVED_FIELDS

from evaluator_service.config_values import ConfigError, Section
from evaluator_service.span_fields import SPAN_KINDS


@dataclass(frozen=True)
class QueueConfig:
    """Durable-queue limits: over either one, or with less than ``min_free_bytes`` left on the data
    directory's filesystem, Export answers ``UNAVAILABLE`` so collectors retry."""

    max_spans: int = 100_000
    max_bytes: int = 1024 * 1024 * 1024
    min_free_bytes: int = 64 * 1024 * 1024


@dataclass(frozen=True)
class ExportConfig:
    """Re-export to the downstream OTLP receiver."""

    batch_size: int = 512
    timeout_s: float = 10.0
    backoff_initial_s: float = 0.2
    backoff_max_s: float = 30.0
    max_request_bytes: int = 4 * 1024 * 1024
    """The largest re-export request sent (gRPC's default receive limit, which many backends keep); the
    forwarder lowers it when the downstream names a smaller one."""


MIN_EXPORT_REQUEST_BYTES = 64 * 1024
MAX_EXPORT_REQUEST_BYTES = 64 * 1024 * 1024
"""The evaluator's own gRPC send limit: no re-export request may be larger."""


@dataclass(frozen=True)
class RuleConfig:
    """Score spans of zero-code apps: ``when`` all equalities hold (and the span's ``instrumentation_scope``
    name and ``span_kind``, when given), sampled by trace id. ``example`` maps example fields to span
    attribute keys (``"*"``: from the span's vocabulary); ``input`` and ``actual_output`` are resolved
    from the vocabulary unless mapped."""

    name: str
    scorer: str
    when: dict[str, Any]
    sampling_rate: float = 1.0
    threshold: float = 0.5
    example: dict[str, str] = field(default_factory=dict)
    instrumentation_scope: str | None = None
    """The instrumentation scope name the span must have (``instrumentation_scope: <name>``)."""
    span_kind: str | None = None
    scope: str = "span"
    """What the rule scores (``scope: span | trace | session``): one span, the trace a span bounds (the
    root span, or a span matching ``when``), or every trace of the session it names."""
    session_keys: tuple[str, ...] = ()
    """For ``scope: session``: the attribute keys naming the session (default:
    ``semconv.SESSION_ID_KEYS``)."""
    idle_s: float | None = None
    """For ``scope: trace``: seconds without a new span after the bounding span arrived before the trace is
    scored (default ``RULE_TRACE_IDLE_S``); ``None`` with ``grace_s``, or on a non-trace rule."""
    grace_s: float | None = None
    """For ``scope: trace``: the bounding span is the trace's end marker, and the trace is scored this long
    after it arrived, however busy the trace still is (instead of waiting for ``idle_s`` of silence)."""


def parse_queue(s: Section) -> QueueConfig:
    s.reject_unknown(frozenset({"max_spans", "max_bytes", "min_free_bytes"}))
    d = QueueConfig()
    return QueueConfig(
        max_spans=s.integer("max_spans", d.max_spans, minimum=1),
        max_bytes=s.integer("max_bytes", d.max_bytes, minimum=1),
        min_free_bytes=s.integer("min_free_bytes", d.min_free_bytes, minimum=0),
    )


def parse_export(s: Section) -> ExportConfig:
    s.reject_unknown(frozenset({"batch_size", "timeout_s", "backoff_initial_s", "backoff_max_s",
                                "max_request_bytes"}))
    d = ExportConfig()
    max_request_bytes = s.integer("max_request_bytes", d.max_request_bytes, minimum=MIN_EXPORT_REQUEST_BYTES)
    if max_request_bytes > MAX_EXPORT_REQUEST_BYTES:
        raise ConfigError(f"{s.where('max_request_bytes')}: must be <= {MAX_EXPORT_REQUEST_BYTES} (the "
                          f"evaluator's own send limit), got {max_request_bytes!r}")
    return ExportConfig(
        max_request_bytes=max_request_bytes,
        batch_size=s.integer("batch_size", d.batch_size, minimum=1),
        timeout_s=s.number("timeout_s", d.timeout_s, strict=True),
        backoff_initial_s=s.number("backoff_initial_s", d.backoff_initial_s),
        backoff_max_s=s.number("backoff_max_s", d.backoff_max_s),
    )


_RULE_KEYS = frozenset(
    {"name", "when", "scope", "span_kind", "sampling_rate", "scorer", "threshold", "example",
     "instrumentation_scope", "session_keys", "idle_s", "grace_s"}
)
RULE_SCOPES = ("span", "trace", "session")
"""``scope:`` values: what a rule scores (default ``span``). The instrumentation scope a span must come from
is ``instrumentation_scope:``."""
RULE_TRACE_IDLE_S = 30.0
"""Default ``idle_s`` of a ``scope: trace`` rule: a zero-code trace has no end marker, so after its bounding
(root) span arrived it is scored once no span arrived for this long; spans of other services usually follow
within seconds. Peers wait longer because they have no root to go by (Datadog 3 min, Phoenix 300 s)."""


def parse_rules(items: list[Section]) -> tuple[RuleConfig, ...]:
    rules: list[RuleConfig] = []
    for s in items:
        s.reject_unknown(_RULE_KEYS)
        when = s.mapping("when")
        scope, span_kind = _rule_scope(s), _span_kind(s)
        instrumentation_scope = s.opt_str("instrumentation_scope")
        if instrumentation_scope is not None and not instrumentation_scope.strip():
            raise ConfigError(f"{s.where('instrumentation_scope')}: must be a non-empty scope name")
        if scope != "span":
            rules.append(_trajectory_rule(s, when, scope, instrumentation_scope, span_kind))
            continue
        for key in ("session_keys", "idle_s", "grace_s"):
            if key in s.data:
                raise ConfigError(f"{s.where(key)}: only a scope: trace or scope: session rule takes {key}")
        if not when and instrumentation_scope is None and span_kind is None:
            raise ConfigError(
                f"{s.where('when')}: required (a mapping of attribute key to value), unless the rule "
                "selects by instrumentation_scope or span_kind"
            )
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
                example=_example_mapping(s),
                instrumentation_scope=instrumentation_scope,
                span_kind=span_kind,
            )
        )
    return tuple(rules)


def _rule_scope(s: Section) -> str:
    """``scope:``, which says what the rule scores; any other value is refused with the key it meant."""
    scope = s.opt_str("scope")
    if scope is None:
        return "span"
    if scope not in RULE_SCOPES:
        raise ConfigError(
            f"{s.where('scope')}: must be one of {', '.join(RULE_SCOPES)} (what the rule scores), got "
            f"{scope!r}; to match the instrumentation scope name write instrumentation_scope: {scope}"
        )
    return scope


def _trajectory_rule(
    s: Section, when: dict[str, Any], scope: str, instrumentation_scope: str | None, span_kind: str | None
) -> RuleConfig:
    """A ``scope: trace`` / ``scope: session`` rule: no example mapping (the scorer reads the trajectory)."""
    if s.data.get("example"):
        raise ConfigError(f"{s.where('example')}: a scope: {scope} rule scores a whole trajectory, "
                          "not an example; remove it")
    for key, value in when.items():
        if not isinstance(value, str | int | float | bool):
            raise ConfigError(f"{s.where('when')}.{key}: must be a scalar value")
    keys = s.data.get("session_keys", [])
    if not isinstance(keys, list) or not all(isinstance(k, str) and k for k in keys):
        raise ConfigError(f"{s.where('session_keys')}: must be a list of attribute keys")
    if keys and scope != "session":
        raise ConfigError(f"{s.where('session_keys')}: only a scope: session rule groups by session")
    rate = s.number("sampling_rate", 1.0)
    if rate > 1:
        raise ConfigError(f"{s.where('sampling_rate')}: must be between 0 and 1, got {rate!r}")
    for key in ("idle_s", "grace_s"):
        if key in s.data and scope != "trace":
            raise ConfigError(f"{s.where(key)}: per-rule {key} is for scope: trace rules (sessions use "
                              "trajectories.session_idle_s)")
    if "idle_s" in s.data and "grace_s" in s.data:
        raise ConfigError(f"{s.where('grace_s')}: give idle_s (score after that much silence) or grace_s "
                          "(score that long after the bounding span arrived), not both")
    grace = s.number("grace_s", 0.0) if "grace_s" in s.data else None
    idle = None
    if scope == "trace" and grace is None:
        idle = s.number("idle_s", RULE_TRACE_IDLE_S, strict=True)
    return RuleConfig(
        name=s.req_str("name"), scorer=s.req_str("scorer"), when={str(k): v for k, v in when.items()},
        sampling_rate=rate, threshold=s.number("threshold", 0.5), instrumentation_scope=instrumentation_scope,
        span_kind=span_kind, scope=scope, session_keys=tuple(keys), idle_s=idle, grace_s=grace,
    )


def _span_kind(s: Section) -> str | None:
    kind = s.opt_str("span_kind")
    if kind is None:
        return None
    if kind.lower() not in SPAN_KINDS:
        allowed = ", ".join(SPAN_KINDS)
        raise ConfigError(f"{s.where('span_kind')}: unknown span kind {kind!r} (allowed: {allowed})")
    return kind.lower()


def _example_mapping(s: Section) -> dict[str, str]:
    example = s.str_map("example")
    for name, source in example.items():
        if not source:
            raise ConfigError(f"{s.where('example')}.{name}: must name a span attribute key")
        if source == FROM_VOCABULARY and name not in RESOLVED_FIELDS:
            raise ConfigError(
                f"{s.where('example')}.{name}: {FROM_VOCABULARY!r} (from the span's vocabulary) works only "
                f"for {', '.join(sorted(RESOLVED_FIELDS))}; name the attribute key"
            )
    return example
