"""PII redaction before storing (built-in patterns with the Luhn check, user patterns, every string of a
record) and the ``datasets:`` section's validation."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from judgeval.protocol.interaction_record import InteractionRecord

from evaluator_service.config_values import ConfigError, Section
from evaluator_service.datasets.redaction import Redactor, luhn_valid
from evaluator_service.datasets.settings import RedactionPattern, parse_datasets


@pytest.mark.parametrize(("text", "expected"), [
    ("write to jane.doe+shop@mail.example.co.uk now", "write to [REDACTED:email] now"),
    ("card 4111-1111-1111-1111.", "card [REDACTED:card]."),
    ("card 4111 1111 1111 1112 fails Luhn", "card 4111 1111 1111 1112 fails Luhn"),
    ("order 1234567890123", "order 1234567890123"),
    ("Authorization: Bearer eyJhbGciOi.payload.sig", "Authorization: Bearer [REDACTED:bearer]"),
    ("OPENAI_API_KEY=sk-proj-abcdefghijklmnopqrstu", "OPENAI_API_KEY=[REDACTED:api_key]"),
    ("aws AKIAABCDEFGHIJKLMNOP", "aws [REDACTED:api_key]"),
    ("call +44 20 7946 0958 or (415) 555-0100", "call [REDACTED:phone] or [REDACTED:phone]"),
    ("released 2026-12-04, version 1.2.3, 42 items", "released 2026-12-04, version 1.2.3, 42 items"),
])
def test_builtin_patterns_replace_pii_and_leave_the_rest(text: str, expected: str) -> None:
    assert Redactor(()).text(text, Counter()) == expected


def test_luhn() -> None:
    assert luhn_valid("4111111111111111") and luhn_valid("5500005555555559")
    assert not luhn_valid("4111111111111112")


def test_every_string_of_example_reason_and_attributes_is_redacted_and_counted() -> None:
    record = InteractionRecord(
        "Tone", "ab" * 16, "cd" * 8, 1.0, threshold=0.5, reason="customer ORD-12345678 wrote from a@b.io",
        example={"input": ["hi", {"nested": "mail x@y.org"}], "count": 3, "flag": True},
        attributes={"gen_ai.request.model": "gpt", "note": "ORD-87654321"})
    redactor = Redactor([RedactionPattern("order", "ORD-[0-9]{8}")])
    clean, counts = redactor.record(record)
    assert clean.example == {"input": ["hi", {"nested": "mail [REDACTED:email]"}], "count": 3, "flag": True}
    assert clean.reason == "customer [REDACTED:order] wrote from [REDACTED:email]"
    assert clean.attributes == {"gen_ai.request.model": "gpt", "note": "[REDACTED:order]"}
    assert counts == Counter({"email": 2, "order": 2})
    untouched, none = Redactor((), builtin=False).record(record)
    assert untouched is record and not none


def test_builtin_patterns_can_be_turned_off_and_rules_add_their_own() -> None:
    config = parse_datasets(Section({"redaction": {"builtin": False, "patterns": [
        {"name": "ticket", "regex": "T-[0-9]+"}]}, "rules": [
        {"dataset": "d", "redaction": {"patterns": [{"name": "cust", "regex": "C-[0-9]+"}]}}]}, "datasets"))
    base = Redactor.of(config)
    assert base.text("a@b.io T-1 C-2", Counter()) == "a@b.io [REDACTED:ticket] C-2"
    assert base.with_patterns(config.rules[0].redaction).text("T-1 C-2", Counter()) == \
        "[REDACTED:ticket] [REDACTED:cust]"


def test_rules_parse_with_their_selectors_and_retention() -> None:
    config = parse_datasets(Section({"rules": [
        {"dataset": "tone-failures", "scorers": "Tone", "outcome": "any", "sample": 0.05,
         "behaviors": ["*"], "agents": ["triage"], "max_examples": 500, "max_age": "48h"}]}, "datasets"))
    [rule] = config.rules
    assert (rule.scorers, rule.outcome, rule.sample, rule.behaviors, rule.agents) == (
        ("Tone",), "any", 0.05, ("*",), ("triage",))
    assert (rule.max_examples, rule.max_age_s) == (500, 48 * 3600.0)


@pytest.mark.parametrize(("section", "message"), [
    ({"rules": [{"scorers": ["x"]}]}, r"datasets.rules\[0\].dataset: required"),
    ({"rules": [{"dataset": "has space"}]}, r"datasets.rules\[0\].dataset: invalid dataset name"),
    ({"rules": [{"dataset": "d", "outcome": "bad"}]}, "outcome: must be one of failed, passed, error, any"),
    ({"rules": [{"dataset": "d", "sample": 5}]}, "sample: must be a share between 0 and 1"),
    ({"rules": [{"dataset": "d", "max_age": "soon"}]}, "max_age: expected a duration"),
    ({"rules": [{"dataset": "d", "scorers": [1]}]}, "scorers: must be a list of non-empty strings"),
    ({"rules": [{"dataset": "d", "oops": 1}]}, r"datasets.rules\[0\].oops: unknown key"),
    ({"rules": [{"dataset": "d", "max_examples": 5}, {"dataset": "d"}]}, "rules of one dataset must agree"),
    ({"redaction": {"patterns": [{"name": "x", "regex": "(a"}]}}, r"patterns\[0\].regex: invalid regular"),
    ({"redaction": {"patterns": [{"name": "x", "regex": "(?=a)"}]}}, "no backreferences or lookaround"),
    ({"rules": [{"dataset": "d", "redaction": {"builtin": False}}]}, "builtin: unknown key"),
    ({"queue_size": 0}, "queue_size: must be >= 1"),
])
def test_mistakes_name_the_field(section: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_datasets(Section(section, "datasets"))
