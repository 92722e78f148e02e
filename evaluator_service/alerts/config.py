"""The ``alerts:`` section of the evaluator config: rules that notify when scores breach thresholds.

::

    alerts:
      - name: faithfulness-drop
        scorer: faithfulness            # or "*" for every scorer
        failure_rate_above: 0.2         # or score_below: 0.3, or errors_above: 5
        window: 5m
        min_count: 20
        where: {service.name: support-bot}
        cooldown: 10m
        link_template: "http://jaeger:16686/trace/{trace_id}"
        notify:
          webhook: {url: "https://hooks.example/x", headers: {Authorization: "Bearer ${env:HOOK_TOKEN}"}}

Every mistake raises :class:`ConfigError` naming the field (``alerts[1].window: ...``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from evaluator_service.alerts.conditions import CONDITIONS, AlertCondition, Condition, parse_condition
from evaluator_service.config_values import ConfigError, Section, parse_duration

ANY_SCORER = "*"
DEFAULT_COOLDOWN_S = 600.0


@dataclass(frozen=True)
class WebhookConfig:
    """POST the notification JSON to ``url``; header values had ``${env:NAME}`` resolved at load time."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    timeout_s: float = 5.0
    max_retries: int = 3
    backoff_initial_s: float = 1.0


@dataclass(frozen=True)
class AlertConfig:
    """One alert rule. ``window_s`` is 0 for ``score_below`` (each score is judged on its own)."""

    name: str
    scorer: str
    condition: Condition
    threshold: float
    window_s: float = 0.0
    min_count: int = 1
    where: dict[str, Any] = field(default_factory=dict)
    cooldown_s: float = DEFAULT_COOLDOWN_S
    link_template: str | None = None
    webhook: WebhookConfig | None = None

    @property
    def kind(self) -> AlertCondition:
        """The object that knows what :attr:`condition` means (:mod:`evaluator_service.alerts.conditions`)."""
        return CONDITIONS[self.condition]

    @property
    def rate_based(self) -> bool:
        """Judged over a window (and so also resolved), not per score."""
        return self.kind.windowed


_ALERT_KEYS = frozenset({"name", "scorer", *(c.value for c in Condition), "window", "min_count", "where",
                         "cooldown", "link_template", "notify"})
_ENV_REF = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")


def parse_alerts(items: list[Section], environ: Mapping[str, str]) -> tuple[AlertConfig, ...]:
    """Validate every ``alerts[i]`` entry; names must be unique."""
    alerts: list[AlertConfig] = []
    seen: set[str] = set()
    for s in items:
        alert = _parse_alert(s, environ)
        if alert.name in seen:
            raise ConfigError(f"{s.where('name')}: duplicate alert name {alert.name!r}")
        seen.add(alert.name)
        alerts.append(alert)
    return tuple(alerts)


def _parse_alert(s: Section, environ: Mapping[str, str]) -> AlertConfig:
    s.reject_unknown(_ALERT_KEYS)
    name = s.req_str("name")
    scorer = s.req_str("scorer", f"required (a scorer name, or {ANY_SCORER!r} for every scorer)")
    condition, settings = parse_condition(s)
    where = s.mapping("where")
    for key, value in where.items():
        if not isinstance(value, str | int | float | bool):
            raise ConfigError(f"{s.where('where')}.{key}: must be a scalar value")
    cooldown = s.data.get("cooldown")
    return AlertConfig(
        name=name, scorer=scorer, condition=condition.key, threshold=settings.threshold,
        window_s=settings.window_s, min_count=settings.min_count, where={str(k): v for k, v in where.items()},
        cooldown_s=DEFAULT_COOLDOWN_S if cooldown is None
        else parse_duration(cooldown, s.where("cooldown"), allow_zero=True),
        link_template=_link_template(s), webhook=_notify(s.section("notify"), environ),
    )


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


def _notify(s: Section, environ: Mapping[str, str]) -> WebhookConfig | None:
    s.reject_unknown(frozenset({"webhook", "log"}))
    if s.has("log") and s.data["log"] is not True:
        raise ConfigError(f"{s.where('log')}: the log target is always on; use true or leave it out")
    if not s.has("webhook"):
        return None
    hook = s.section("webhook")
    hook.reject_unknown(frozenset({"url", "headers", "timeout_s", "max_retries", "backoff_initial_s"}))
    url = hook.req_str("url", "required (http:// or https:// URL)")
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"{hook.where('url')}: must start with http:// or https://, got {url!r}")
    headers = {key: _resolve_env(value, f"{hook.where('headers')}.{key}", environ)
               for key, value in hook.str_map("headers").items()}
    d = WebhookConfig(url)
    return WebhookConfig(
        url=url, headers=headers,
        timeout_s=hook.number("timeout_s", d.timeout_s, strict=True),
        max_retries=hook.integer("max_retries", d.max_retries),
        backoff_initial_s=hook.number("backoff_initial_s", d.backoff_initial_s),
    )


def _resolve_env(value: str, where: str, environ: Mapping[str, str]) -> str:
    def lookup(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in environ:
            raise ConfigError(f"{where}: environment variable {name} is not set")
        return environ[name]

    return _ENV_REF.sub(lookup, value)
