"""The Tracer's settings, resolved once at construction: explicit argument > environment > default."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from judgeval import environment_variables

logger = logging.getLogger("judgeval")

DEFAULT_CAPTURE_MAX_CHARS = 8192
_FALSE_WORDS = frozenset({"false", "0", "no", "off"})
_TRUE_WORDS = frozenset({"true", "1", "yes", "on"})


def env_flag(name: str, default: bool) -> bool:
    """Read a boolean environment variable; an unrecognised value keeps the default and logs why."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    word = raw.strip().lower()
    if word in _FALSE_WORDS:
        return False
    if word in _TRUE_WORDS:
        return True
    logger.warning("%s=%r is not true/false; using the default %s", name, raw, default)
    return default


def env_positive_int(name: str, default: int) -> int:
    """Read a positive integer environment variable; a bad value keeps the default and logs why."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        logger.warning("%s=%r is not a positive integer; using the default %d", name, raw, default)
        return default
    return value


@dataclass(frozen=True, slots=True)
class TracerConfig:
    """Everything a :class:`~judgeval.tracer.Tracer` decides once, when it is constructed."""

    project_name: str
    monitoring: bool = True
    evaluations: bool = True
    capture_content: bool = True
    capture_max_chars: int = DEFAULT_CAPTURE_MAX_CHARS

    @classmethod
    def resolve(
        cls,
        project_name: str | None,
        enable_monitoring: bool | None = None,
        enable_evaluations: bool | None = None,
    ) -> TracerConfig:
        """Resolve from constructor arguments, then ``JUDGMENT_*``/``JUDGEVAL_*`` env, then defaults."""
        monitoring = (
            enable_monitoring
            if enable_monitoring is not None
            else env_flag(environment_variables.JUDGMENT_MONITORING, True)
        )
        evaluations = (
            enable_evaluations
            if enable_evaluations is not None
            else env_flag(environment_variables.JUDGMENT_EVALUATIONS, True)
        )
        return cls(
            project_name=project_name or "default_project",
            monitoring=monitoring,
            evaluations=evaluations,
            capture_content=env_flag(environment_variables.JUDGEVAL_CAPTURE_CONTENT, True),
            capture_max_chars=env_positive_int(
                environment_variables.JUDGEVAL_CAPTURE_MAX_CHARS, DEFAULT_CAPTURE_MAX_CHARS
            ),
        )
