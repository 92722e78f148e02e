"""Typed, path-aware access to parsed YAML so every config error names its field precisely."""

from __future__ import annotations

import math
import re
from typing import Any

from evaluator_service.errors import EvaluatorError


class ConfigError(EvaluatorError, ValueError):
    """The configuration is invalid; the message names the field (``scorers[2].model: ...``)."""


class Section:
    """One YAML mapping plus its dotted path (``""`` for the top level, ``scorers[2]`` for an item)."""

    def __init__(self, data: dict[str, Any], path: str) -> None:
        self.data = data
        self.path = path

    def where(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def reject_unknown(self, known: frozenset[str]) -> None:
        for key in self.data:
            if key not in known:
                allowed = ", ".join(sorted(known))
                raise ConfigError(f"{self.where(str(key))}: unknown key (allowed: {allowed})")

    def section(self, key: str) -> Section:
        value = self.data.get(key)
        if value is None:
            return Section({}, self.where(key))
        if not isinstance(value, dict):
            raise ConfigError(f"{self.where(key)}: must be a mapping")
        return Section(value, self.where(key))

    def section_list(self, key: str) -> list[Section]:
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise ConfigError(f"{self.where(key)}: must be a list")
        items = []
        for index, item in enumerate(value):
            path = f"{self.where(key)}[{index}]"
            if not isinstance(item, dict):
                raise ConfigError(f"{path}: must be a mapping")
            items.append(Section(item, path))
        return items

    def opt_str(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise ConfigError(f"{self.where(key)}: must be a string")
        return str(value)

    def req_str(self, key: str, why: str = "required") -> str:
        value = self.opt_str(key)
        if not value:
            raise ConfigError(f"{self.where(key)}: {why}")
        return value

    def number(self, key: str, default: float, *, minimum: float = 0.0, strict: bool = False) -> float:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ConfigError(f"{self.where(key)}: must be a number, got {value!r}")
        if value < minimum or (strict and value == minimum):
            op = ">" if strict else ">="
            raise ConfigError(f"{self.where(key)}: must be {op} {minimum:g}, got {value!r}")
        return float(value)

    def integer(self, key: str, default: int, *, minimum: int = 0) -> int:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{self.where(key)}: must be an integer, got {value!r}")
        if value < minimum:
            raise ConfigError(f"{self.where(key)}: must be >= {minimum}, got {value!r}")
        return value

    def str_map(self, key: str) -> dict[str, str]:
        value = self.data.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ConfigError(f"{self.where(key)}: must be a mapping")
        out: dict[str, str] = {}
        for k, v in value.items():
            if not isinstance(v, str | int | float | bool):
                raise ConfigError(f"{self.where(key)}.{k}: must be a scalar value")
            out[str(k)] = v if isinstance(v, str) else str(v)
        return out

    def mapping(self, key: str) -> dict[str, Any]:
        value = self.data.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ConfigError(f"{self.where(key)}: must be a mapping")
        return dict(value)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(value: Any, where: str, *, allow_zero: bool = False) -> float:
    """``30s``, ``5m``, ``1h``, ``500ms`` or a number of seconds → seconds."""
    if isinstance(value, bool):
        raise ConfigError(f"{where}: expected a duration like 30s, 5m or 1h, got {value!r}")
    match = _DURATION.match(str(value)) if isinstance(value, str | int | float) else None
    if match is None:
        raise ConfigError(f"{where}: expected a duration like 30s, 5m or 1h, got {value!r}")
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds <= 0 and not (allow_zero and seconds == 0):
        raise ConfigError(f"{where}: must be longer than 0, got {value!r}")
    return seconds
