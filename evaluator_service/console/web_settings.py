"""The ``console:`` section of the evaluator config: where the web console listens, who may log in, and
how it links to the trace backend.

The console is off unless ``console.listen`` (or ``--console-listen``, or ``JUDGEVAL_CONSOLE_LISTEN``) is
set. It needs at least one key to log in with: the admin key (write access) or ``console.read_only_key``
(``JUDGEVAL_CONSOLE_READ_KEY``; read-only).
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from evaluator_service.config_values import ConfigError, Section, parse_duration
from evaluator_service.environment_variables import JUDGEVAL_CONSOLE_LISTEN, JUDGEVAL_CONSOLE_READ_KEY

DEFAULT_TRACE_URL = "http://localhost:16686/trace/{trace_id}?uiFind={span_id}"
"""Jaeger's trace page, the span highlighted (Tempo in Grafana: an Explore URL with ``{trace_id}``)."""

TRACE_URL_FIELDS = frozenset({"trace_id", "span_id"})
DEFAULT_SESSION_TTL_S = 12 * 3600.0


@dataclass(frozen=True)
class ConsoleConfig:
    """The web console's settings, validated (see the module docstring)."""

    listen: str | None = None
    """``host:port`` (port 0 picks one); ``None``: the console is off."""
    read_only_key: str | None = None
    trace_url: str = DEFAULT_TRACE_URL
    """Link from an interaction to its trace: ``{trace_id}`` and ``{span_id}`` (hex) are replaced."""
    session_ttl_s: float = DEFAULT_SESSION_TTL_S
    """How long a login lasts (the signed session cookie's expiry)."""
    secure_cookie: bool | None = None
    """Mark the session cookie ``Secure``; ``None``: when the console is served over TLS (``ingress.tls``),
    set it to ``true`` behind a TLS-terminating proxy."""

    @property
    def enabled(self) -> bool:
        return self.listen is not None


def parse_console(s: Section, env: Mapping[str, str], normalize: Callable[[str, str], str],
                  listen_flag: str | None = None) -> ConsoleConfig:
    """Parse ``console:``; ``normalize`` checks a ``host:port`` (the config module's endpoint rule)."""
    s.reject_unknown(frozenset({"listen", "read_only_key", "trace_url", "session_ttl", "secure_cookie"}))
    listen = listen_flag or env.get(JUDGEVAL_CONSOLE_LISTEN) or s.opt_str("listen")
    key = env.get(JUDGEVAL_CONSOLE_READ_KEY) or s.opt_str("read_only_key")
    if key is not None and (len(key.strip()) < 8 or any(c in key for c in "\r\n")):
        raise ConfigError(f"{s.where('read_only_key')}: must be one line of at least 8 characters")
    trace_url = s.opt_str("trace_url") or DEFAULT_TRACE_URL
    check_trace_url(trace_url, s.where("trace_url"))
    secure_cookie = s.data.get("secure_cookie")
    if secure_cookie is not None and not isinstance(secure_cookie, bool):
        raise ConfigError(f"{s.where('secure_cookie')}: must be true or false")
    ttl = (parse_duration(s.data["session_ttl"], s.where("session_ttl")) if s.has("session_ttl")
           else DEFAULT_SESSION_TTL_S)
    return ConsoleConfig(
        listen=normalize(listen, s.where("listen")) if listen else None,
        read_only_key=key, trace_url=trace_url, session_ttl_s=ttl, secure_cookie=secure_cookie,
    )


def check_trace_url(template: str, where: str) -> None:
    """Raise :class:`ConfigError` unless ``template`` is an http(s) URL naming only known fields."""
    if not template.startswith(("http://", "https://")):
        raise ConfigError(f"{where}: must be an http:// or https:// URL, got {template!r}")
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc} in {template!r}") from None
    unknown = fields - TRACE_URL_FIELDS
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {', '.join(sorted(unknown))} "
                          f"(use {{trace_id}} and {{span_id}})")
    if "trace_id" not in fields:
        raise ConfigError(f"{where}: must contain {{trace_id}}, got {template!r}")
