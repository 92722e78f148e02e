"""PII redaction of interaction records before they are stored in a dataset.

Every string of a record's ``example``, ``reason`` and ``attributes`` (keys kept, nested lists and objects
walked) is scanned with the built-in patterns (unless turned off) and then the user's, each match replaced
by ``[REDACTED:<name>]``. The built-in ones:

- ``email``: ``local@domain.tld``;
- ``card``: 13 to 19 digits (spaces or dashes between groups allowed) that pass the Luhn check, so an order
  number that merely looks long is kept;
- ``bearer``: ``Bearer <token>`` (the token part);
- ``api_key``: OpenAI/Anthropic-style ``sk-...``, ``sk-ant-...``, GitHub ``ghp_...``, AWS ``AKIA...``,
  Slack ``xox?-...`` keys;
- ``phone``: international ``+`` numbers and North-American ``(555) 123-4567`` / ``555-123-4567`` forms.

Patterns are RE2 (linear time; see :mod:`evaluator_service.scoring.builtin.patterns`). The count of
replacements per pattern name is returned so the caller can record it in a metric.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from judgeval.protocol.interaction_record import InteractionRecord

from evaluator_service.datasets.settings import DatasetsConfig, RedactionPattern
from evaluator_service.scoring.builtin.patterns import compile_pattern
from evaluator_service.scoring.builtin.pii import luhn_valid

BUILTIN_PATTERNS: tuple[RedactionPattern, ...] = (
    RedactionPattern("bearer", r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}"),
    RedactionPattern("api_key", r"\b(?:sk-(?:ant-|proj-)?[A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{30,}"
                                r"|AKIA[0-9A-Z]{16}|xox[abprs]-[A-Za-z0-9-]{10,})"),
    RedactionPattern("email", r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"),
    RedactionPattern("card", r"\b[0-9](?:[ -]?[0-9]){12,18}\b"),
    RedactionPattern("phone", r"(?:\+[1-9][0-9]{0,2}[ .-]?(?:\([0-9]{1,4}\)[ .-]?)?[0-9]{2,4}"
                              r"(?:[ .-]?[0-9]{2,4}){1,4}|\([0-9]{3}\)\s?[0-9]{3}[ .-][0-9]{4}"
                              r"|\b[0-9]{3}[.-][0-9]{3}[.-][0-9]{4}\b)"),
)
"""Applied in this order (a bearer token or key is taken whole before its digits could look like a card)."""


class Redactor:
    """Replaces PII in records; one instance per set of patterns (compiled once)."""

    def __init__(self, patterns: Sequence[RedactionPattern], *, builtin: bool = True) -> None:
        chosen = [*(BUILTIN_PATTERNS if builtin else ()), *patterns]
        self._compiled = [(p.name, compile_pattern(p.regex)) for p in chosen]

    @classmethod
    def of(cls, config: DatasetsConfig) -> Redactor:
        """The redactor of the ``datasets.redaction`` section (what imports and every rule start from)."""
        return cls(config.redaction.patterns, builtin=config.redaction.builtin)

    def with_patterns(self, extra: Sequence[RedactionPattern]) -> Redactor:
        """This redactor plus ``extra`` patterns (applied after these)."""
        if not extra:
            return self
        combined = Redactor((), builtin=False)
        combined._compiled = [*self._compiled, *((p.name, compile_pattern(p.regex)) for p in extra)]
        return combined

    def text(self, value: str, counts: Counter[str]) -> str:
        for name, pattern in self._compiled:
            value = pattern.sub(_replacer(name, counts), value)
        return value

    def record(self, record: InteractionRecord) -> tuple[InteractionRecord, Counter[str]]:
        """The record with every string of example, reason and attributes redacted, and the counts."""
        counts: Counter[str] = Counter()
        redacted = dataclasses.replace(
            record, example=self._value(record.example, counts), reason=self.text(record.reason, counts),
            attributes=self._value(record.attributes, counts))
        return (redacted if counts else record), counts

    def _value(self, value: Any, counts: Counter[str]) -> Any:
        if isinstance(value, str):
            return self.text(value, counts)
        if isinstance(value, dict):
            return {k: self._value(v, counts) for k, v in value.items()}
        if isinstance(value, list):
            return [self._value(v, counts) for v in value]
        return value


def _replacer(name: str, counts: Counter[str]) -> Callable[[Any], str]:
    def replace(match: Any) -> str:
        found = match.group(0)
        if name == "card" and not luhn_valid("".join(c for c in found if c.isdigit())):
            return str(found)
        counts[name] += 1
        if name == "bearer":
            return f"{found.split()[0]} [REDACTED:{name}]"
        return f"[REDACTED:{name}]"
    return replace
