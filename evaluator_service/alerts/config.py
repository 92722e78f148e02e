"""The ``alerts:`` section of the evaluator config: one entry per alert, validated with errors naming the
field (``alerts[1].window: ...``).

::

    alerts:
      - name: faithfulness-drop
        scorer: faithfulness            # or "*" for every scorer
        failure_rate_above: {critical: 0.3, warning: 0.1}
        window: 5m
        min_count: 20
        service: support-bot            # also agent:, environment:, where: {any.attribute: value}
        for: 2m                         # the breach must hold this long before firing
        renotify: 1h                    # repeat while firing (0: never)
        recovery: true                  # send "resolved" (default)
        no_data: no_data                # what an empty window means: no_data, ok, keep, alerting
        notify: [oncall-pagerduty, team-slack]     # names from the top-level `channels:` section
        link_template: "http://jaeger:16686/trace/{trace_id}"

What each condition key means is in :mod:`evaluator_service.alerts.conditions`; filters in
:mod:`evaluator_service.alerts.filters`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import quote

from evaluator_service.alerts.conditions import (
    BEHAVIOR_KEY,
    CONDITION_KEYS,
    KIND_SETTINGS,
    AlertCondition,
    parse_condition,
)
from evaluator_service.alerts.filters import ANY_SCORER, FILTER_KEYS, AlertFilter, parse_filter
from evaluator_service.behaviors.events import BehaviorEventKind
from evaluator_service.config_values import ConfigError, Section, parse_duration

DEFAULT_BEHAVIOR_QUIET_S = 3600.0
DEFAULT_BEHAVIOR_KINDS = (BehaviorEventKind.CREATED, BehaviorEventKind.REGRESSED,
                          BehaviorEventKind.INCREASING)


class NoDataPolicy(StrEnum):
    """What a window without any score means (Langfuse's four no-data policies)."""

    NO_DATA = "no_data"
    """Enter the ``no_data`` state (a firing alert says so once)."""
    OK = "ok"
    """Treat as healthy (a firing alert resolves)."""
    KEEP = "keep"
    """Keep the current state."""
    ALERTING = "alerting"
    """Treat as a critical breach."""


@dataclass(frozen=True)
class AlertingConfig:
    """The engine's own settings (YAML ``alerting:``), shared by every alert."""

    tick_s: float = 1.0
    """How often counts are written and every alert judged."""
    retention_s: float = 30 * 86_400.0
    """How long transitions, delivery attempts and sent notifications are kept."""
    retry_initial_s: float = 5.0
    """First outbox retry delay after a failed delivery; doubles per failure."""
    retry_max_s: float = 300.0
    give_up_after_s: float = 86_400.0
    """A notification still undelivered this long after it was created is marked failed."""
    behavior_max_age_s: float = 3600.0
    """Behavior events older than this when first read notify nobody (a new deployment's history)."""


_ALERTING_KEYS = frozenset({"tick", "retention", "retry", "behavior_max_age"})


def parse_alerting(s: Section) -> AlertingConfig:
    """The ``alerting:`` section; every key optional."""
    s.reject_unknown(_ALERTING_KEYS)
    d = AlertingConfig()
    retry = s.section("retry")
    retry.reject_unknown(frozenset({"initial", "max", "give_up_after"}))
    settings = AlertingConfig(
        tick_s=_positive(s, "tick", d.tick_s), retention_s=_positive(s, "retention", d.retention_s),
        retry_initial_s=_positive(retry, "initial", d.retry_initial_s),
        retry_max_s=_positive(retry, "max", d.retry_max_s),
        give_up_after_s=_positive(retry, "give_up_after", d.give_up_after_s),
        behavior_max_age_s=_positive(s, "behavior_max_age", d.behavior_max_age_s),
    )
    if settings.retry_max_s < settings.retry_initial_s:
        raise ConfigError(f"{retry.where('max')}: must be at least retry.initial")
    return settings


@dataclass(frozen=True)
class AlertConfig:
    """One alert. ``condition`` is ``None`` for a behavior alert (``behavior_kinds`` then says which
    lifecycle events notify)."""

    name: str
    condition: AlertCondition | None
    filter: AlertFilter = field(default_factory=AlertFilter)
    behavior_kinds: tuple[BehaviorEventKind, ...] = ()
    for_s: float = 0.0
    renotify_s: float = 0.0
    recovery: bool = True
    no_data: NoDataPolicy = NoDataPolicy.NO_DATA
    notify: tuple[str, ...] = ()
    link_template: str | None = None
    issue_link_template: str | None = None
    """A link to the issues: behavior alerts the behavior's page (``{behavior_id}``), score alerts the
    scorer's issues (``{scorer}``, e.g. the console's ``/issues?scorer={scorer}``)."""
    behavior_link_template: str | None = None
    """Score alerts: the page of the issue (behavior) the breaching example's span was placed in
    (``{behavior_id}``, e.g. the console's ``/issues/{behavior_id}``); ``links.issue`` is this page when the
    span was placed, else ``issue_link_template``'s list."""
    description: str = ""
    enabled: bool = True
    quiet_s: float = DEFAULT_BEHAVIOR_QUIET_S
    """Behavior alerts: how long without a matching event before the alert is ``ok`` again."""

    def describe(self) -> str:
        """The condition in words."""
        if self.condition is None:
            return "behavior events: " + ", ".join(k.value for k in self.behavior_kinds)
        return self.condition.describe()

    @property
    def scorer(self) -> str:
        return self.filter.scorer

    def trace_link(self, trace_id: str, span_id: str, service_name: str) -> str | None:
        """An example's ``link``: ``link_template`` with the span's ids and its service's name, URL-quoted (a
        service name comes from the traced application: a space, ``&`` or ``|`` in it must not break the URL
        or add query parameters)."""
        if self.link_template is None:
            return None
        return self.link_template.format(trace_id=quote(trace_id, safe=""), span_id=quote(span_id, safe=""),
                                         service_name=quote(service_name, safe=""))

    def scorer_issues_link(self) -> str | None:
        """``links.issue`` of a score alert's notifications: ``issue_link_template`` with the scorer's name
        (URL-quoted; empty for ``scorer: "*"``, so a console list shows every scorer's issues)."""
        if self.issue_link_template is None or self.condition is None:
            return None
        scorer = "" if self.scorer == ANY_SCORER else quote(self.scorer, safe="")
        return self.issue_link_template.format(scorer=scorer)

    def behavior_issue_link(self, behavior_id: str) -> str | None:
        """``links.issue`` of a score alert whose breaching span was placed in behavior ``behavior_id``."""
        if self.behavior_link_template is None:
            return None
        return self.behavior_link_template.format(behavior_id=quote(behavior_id, safe=""))


_ALERT_KEYS = frozenset({"name", "scorer", "where", *FILTER_KEYS, *CONDITION_KEYS, *KIND_SETTINGS, "for",
                         "renotify", "recovery", "no_data", "notify", "link_template", "issue_link_template",
                         "behavior_link_template",
                         "description", "enabled", "cooldown"})


def parse_alerts(items: list[Section], channel_names: Collection[str] = ()) -> tuple[AlertConfig, ...]:
    """Validate every ``alerts[i]`` entry; names must be unique, ``notify`` names must be channels."""
    alerts: list[AlertConfig] = []
    seen: set[str] = set()
    for s in items:
        alert = _parse_alert(s, channel_names)
        if alert.name in seen:
            raise ConfigError(f"{s.where('name')}: duplicate alert name {alert.name!r}")
        seen.add(alert.name)
        alerts.append(alert)
    return tuple(alerts)


def _parse_alert(s: Section, channel_names: Collection[str]) -> AlertConfig:
    s.reject_unknown(_ALERT_KEYS)
    if s.has("cooldown"):
        raise ConfigError(f"{s.where('cooldown')}: replaced by `renotify:` (repeat while firing) and, for "
                          "score_below/score_above, `quiet:` (how long without a bad score resolves it)")
    name = s.req_str("name")
    condition = parse_condition(s)
    return AlertConfig(
        name=name, condition=condition, filter=parse_filter(s, scorer_required=condition is not None),
        behavior_kinds=_behavior_kinds(s) if condition is None else (),
        for_s=_duration(s, "for"), renotify_s=_duration(s, "renotify"),
        recovery=_flag(s, "recovery", True), no_data=_no_data(s),
        notify=_notify(s, channel_names), link_template=_link_template(s),
        issue_link_template=_issue_link_template(s, behavior=condition is None),
        behavior_link_template=_behavior_link_template(s, behavior=condition is None),
        description=s.opt_str("description") or "", enabled=_flag(s, "enabled", True),
        quiet_s=parse_duration(s.data["quiet"], s.where("quiet")) if condition is None and s.has("quiet")
        else DEFAULT_BEHAVIOR_QUIET_S,
    )


def _duration(s: Section, key: str) -> float:
    return parse_duration(s.data[key], s.where(key), allow_zero=True) if s.has(key) else 0.0


def _positive(s: Section, key: str, default: float) -> float:
    return parse_duration(s.data[key], s.where(key)) if s.has(key) else default


def _flag(s: Section, key: str, default: bool) -> bool:
    value = s.data.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{s.where(key)}: must be true or false, got {value!r}")
    return value


def _no_data(s: Section) -> NoDataPolicy:
    text = s.opt_str("no_data") or NoDataPolicy.NO_DATA.value
    try:
        return NoDataPolicy(text)
    except ValueError:
        raise ConfigError(f"{s.where('no_data')}: one of {', '.join(p.value for p in NoDataPolicy)}, "
                          f"got {text!r}") from None


def _behavior_kinds(s: Section) -> tuple[BehaviorEventKind, ...]:
    raw = s.data[BEHAVIOR_KEY]
    names = raw if isinstance(raw, list) else [raw]
    kinds = []
    for item in names:
        text = str(item)
        text = text if text.startswith("behavior.") else f"behavior.{text}"
        try:
            kinds.append(BehaviorEventKind(text))
        except ValueError:
            allowed = ", ".join(k.value.removeprefix("behavior.") for k in BehaviorEventKind)
            raise ConfigError(f"{s.where(BEHAVIOR_KEY)}: unknown behavior event {item!r} (allowed: "
                              f"{allowed})") from None
    return tuple(kinds) or DEFAULT_BEHAVIOR_KINDS


def _notify(s: Section, channel_names: Collection[str]) -> tuple[str, ...]:
    raw = s.data.get("notify")
    if raw is None:
        return ()
    if isinstance(raw, dict):
        raise ConfigError(f"{s.where('notify')}: notification targets moved to the top-level `channels:` "
                          "section; define e.g. `channels: {team-hook: {type: webhook, url: ...}}` and write "
                          "`notify: [team-hook]` (every notification is also logged)")
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise ConfigError(f"{s.where('notify')}: must be a list of channel names")
    for item in raw:
        if item not in channel_names:
            known = ", ".join(sorted(channel_names)) or "none defined"
            raise ConfigError(f"{s.where('notify')}: unknown channel {item!r} (channels: {known})")
    return tuple(raw)


def _issue_link_template(s: Section, *, behavior: bool) -> str | None:
    template = s.opt_str("issue_link_template")
    if template is None:
        return None
    field_name = "behavior_id" if behavior else "scorer"
    try:
        template.format(**{field_name: "x"})
    except (KeyError, IndexError, ValueError) as exc:
        which = "behavior alerts" if behavior else "score alerts"
        hint = "" if behavior else "; for the issue a breaching span is in, use behavior_link_template"
        raise ConfigError(f"{s.where('issue_link_template')}: may use only {{{field_name}}} with {which} "
                          f"({type(exc).__name__}: {exc}{hint})") from None
    return template


def _behavior_link_template(s: Section, *, behavior: bool) -> str | None:
    template = s.opt_str("behavior_link_template")
    if template is None:
        return None
    if behavior:
        raise ConfigError(f"{s.where('behavior_link_template')}: only for score alerts; a behavior alert "
                          "links its behavior with issue_link_template ({behavior_id})")
    try:
        template.format(behavior_id="x")
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(f"{s.where('behavior_link_template')}: may use only {{behavior_id}} "
                          f"({type(exc).__name__}: {exc})") from None
    return template


def _link_template(s: Section) -> str | None:
    template = s.opt_str("link_template")
    if template is None:
        return None
    try:
        template.format(trace_id="0" * 32, span_id="0" * 16, service_name="svc")
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(f"{s.where('link_template')}: may use only {{trace_id}}, {{span_id}} and "
                          f"{{service_name}} ({type(exc).__name__}: {exc})") from None
    return template
