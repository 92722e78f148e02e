"""Secrets of notification channels come only from the environment, resolved once at start-up.

A secret field is written as a reference, never as the value: ``routing_key: "${env:PAGERDUTY_KEY}"`` (the
form webhook headers already use) or ``routing_key_env: PAGERDUTY_KEY`` (the form of the judge's
``api_key_env``). A literal value is a config error, so a secret never sits in a YAML file or a ConfigMap;
an unset or empty variable is a config error naming the field and the variable (never its value).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from evaluator_service.config_values import ConfigError, Section

ENV_REFERENCE = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
ENV_SUFFIX = "_env"


def resolve_env(value: str, where: str, environ: Mapping[str, str], found: list[str] | None = None) -> str:
    """``value`` with every ``${env:NAME}`` replaced by the variable's value; unset is a config error.
    Each substituted value is appended to ``found`` (the caller masks them wherever text is shown)."""

    def lookup(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in environ:
            raise ConfigError(f"{where}: environment variable {name} is not set")
        if found is not None and environ[name]:
            found.append(environ[name])
        return environ[name]

    return ENV_REFERENCE.sub(lookup, value)


def secret_keys(key: str) -> frozenset[str]:
    """The two YAML spellings of the secret field ``key`` (for ``reject_unknown``)."""
    return frozenset({key, key + ENV_SUFFIX})


def read_secret(s: Section, key: str, environ: Mapping[str, str], *, required: bool, what: str
                ) -> str | None:
    """The secret ``key`` of ``s`` from the environment; ``what`` says what it is (for the messages)."""
    reference, by_name = s.opt_str(key), s.opt_str(key + ENV_SUFFIX)
    if reference is not None and by_name is not None:
        raise ConfigError(f"{s.where(key)}: give either {key} or {key}{ENV_SUFFIX}, not both")
    if by_name is not None:
        where = s.where(key + ENV_SUFFIX)
        if not _ENV_NAME.match(by_name):
            raise ConfigError(f"{where}: must name an environment variable, got {by_name!r}")
        reference = f"${{env:{by_name}}}"
    elif reference is not None:
        where = s.where(key)
        if not ENV_REFERENCE.search(reference):
            raise ConfigError(f"{where}: {what} is a secret and must come from the environment: write "
                              f"\"${{env:NAME}}\" or {key}{ENV_SUFFIX}: NAME, not the value itself")
    else:
        if required:
            raise ConfigError(f"{s.where(key)}: required ({what}; \"${{env:NAME}}\" or "
                              f"{key}{ENV_SUFFIX}: NAME)")
        return None
    value = resolve_env(reference, where, environ)
    if not value.strip():
        names = ", ".join(ENV_REFERENCE.findall(reference))
        raise ConfigError(f"{where}: environment variable {names} is empty")
    return value
