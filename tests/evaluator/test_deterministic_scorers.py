"""The deterministic built-ins: regex, keyword, json_schema, pii (with Luhn) and tool_call_error."""

from __future__ import annotations

from typing import Any

import pytest
from judgeval import semconv
from judgeval.protocol.evaluation_request import EvaluationRequest, ScorerRef
from judgeval.semconv import ScoreField, score_attribute
from opentelemetry.proto.trace.v1.trace_pb2 import Status

from evaluator_service.scoring.builtin.pii import find_pii, luhn_valid
from evaluator_service.scoring.builtin.sources import BuiltinScorerSource, build_scorer
from evaluator_service.scoring.contract import InvalidExampleError
from evaluator_service.scoring.settings import JudgeConfig, ScorerConfig
from tests.support.evaluator import export, running, wait_for
from tests.support.spans import by_name, make_request, make_span, tagged_attributes


async def score(
    kind: str,
    example: dict[str, Any],
    config: dict[str, Any] | None = None,
    fields: dict[str, str] | None = None,
) -> float:
    scorer = build_scorer(ScorerConfig(name=kind, type=kind, fields=fields or {}))
    request = EvaluationRequest(ScorerRef(name=kind, config=config or {}), example)
    return (await scorer.score(example, request)).value


@pytest.mark.parametrize(
    ("config", "text", "expected"),
    [
        ({"pattern": r"\d{4}"}, "order 1234", 1.0),
        ({"pattern": r"\d{4}"}, "no digits", 0.0),
        ({"pattern": "SORRY", "ignore_case": True}, "so sorry", 1.0),
        ({"pattern": "password", "mode": "no_match"}, "your password is x", 0.0),
    ],
)
async def test_regex(config, text, expected):
    assert await score("regex", {"actual_output": text}, config) == expected


@pytest.mark.parametrize(
    ("mode", "text", "expected"),
    [
        ("any", "We offer a Refund.", 1.0),
        ("any", "Nothing here", 0.0),
        ("all", "refund and return", 1.0),
        ("all", "refund only", 0.0),
        ("none", "refund", 0.0),
        ("none", "clean", 1.0),
    ],
)
async def test_keyword(mode, text, expected):
    config = {"keywords": ["refund", "return"], "mode": mode}
    assert await score("keyword", {"actual_output": text}, config) == expected


@pytest.mark.parametrize(
    ("mode", "text", "reason"),
    [
        ("any", "We offer a Refund.", 'found "refund"'),
        ("any", "Nothing here", 'none of "refund", "return" found'),
        ("one", "Nothing here", 'missing "refund"'),
        ("all", "refund and return", 'all of "refund", "return" found'),
        ("all", "refund only", 'missing "return" (found "refund")'),
        ("all", "nothing", 'missing "refund", "return"'),
        ("none", "refund", 'found "refund", which must not appear'),
        ("none", "clean", 'none of "refund", "return" found'),
    ],
)
async def test_keyword_reason_is_plain_text(mode, text, reason):
    """What an on-call engineer reads in an alert: words, not a Python list."""
    scorer = build_scorer(ScorerConfig(name="keyword", type="keyword"))
    keywords = ["refund"] if mode == "one" else ["refund", "return"]
    config = {"keywords": keywords, "mode": "any" if mode == "one" else mode}
    request = EvaluationRequest(ScorerRef(name="keyword", config=config), {"actual_output": text})
    assert (await scorer.score({"actual_output": text}, request)).reason == reason


async def test_keyword_reads_a_mapped_field():
    assert (
        await score("keyword", {"reply": "refund"}, {"keywords": ["refund"]}, {"actual_output": "reply"})
        == 1.0
    )


SCHEMA = {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}}


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ('{"id": 3}', 1.0),
        ({"id": 3}, 1.0),
        ('{"id": "3"}', 0.0),
        ("{not json", 0.0),
        ("{}", 0.0),
    ],
)
async def test_json_schema(output, expected):
    assert await score("json_schema", {"actual_output": output}, {"schema": SCHEMA}) == expected


async def test_json_schema_reason_names_the_violation():
    scorer = build_scorer(ScorerConfig(name="js", type="json_schema", options={"schema": SCHEMA}))
    outcome = await scorer.score(
        {"actual_output": '{"id": "x"}'}, EvaluationRequest(ScorerRef(name="js"), {})
    )
    assert outcome.reason is not None and "schema violation at id" in outcome.reason


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("write to jane.doe@example.com", ["email"]),
        ("call me at (415) 555-0134", ["phone"]),
        ("card 4111 1111 1111 1111 please", ["credit_card"]),
        ("card 4111 1111 1111 1112 please", []),
        ("ssn 123-45-6789", ["ssn"]),
        ("order #12345 shipped on 2024-05-01", []),
    ],
)
def test_pii_detection(text, kinds):
    assert find_pii(text) == kinds


def test_luhn():
    assert luhn_valid("4111111111111111")
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")


async def test_pii_scorer_passes_clean_text_and_never_echoes_the_data():
    assert await score("pii", {"actual_output": "Your parcel ships Monday."}) == 1.0
    scorer = build_scorer(ScorerConfig(name="pii", type="pii"))
    example = {"actual_output": "mail jane@example.com"}
    outcome = await scorer.score(example, EvaluationRequest(ScorerRef(name="pii"), example))
    assert outcome.value == 0.0
    assert outcome.reason == "personal data found: email"


async def test_missing_field_and_bad_request_config_are_invalid_examples():
    with pytest.raises(InvalidExampleError, match="example has no field 'actual_output'"):
        await score("pii", {"output": "x"})
    with pytest.raises(InvalidExampleError, match="scorer config pattern: invalid regular expression"):
        await score("regex", {"actual_output": "x"}, {"pattern": "("})


def test_builtin_source_resolves_only_builtin_names():
    source = BuiltinScorerSource(JudgeConfig())
    assert source.resolve(ScorerRef(name="pii")) is source.resolve(ScorerRef(name="pii"))
    assert source.resolve(ScorerRef(name="Package Inquiry Scorer")) is None


async def test_tool_call_error_reads_the_span_itself(make_config, receiver):
    failed = make_span(
        "tool-failed", {**tagged_attributes(("tool_call_error", {})), semconv.ERROR_TYPE: "Timeout"}
    )
    errored = make_span("tool-status", tagged_attributes(("tool_call_error", {})))
    errored.status.CopyFrom(Status(code=Status.STATUS_CODE_ERROR, message="boom"))
    fine = make_span("tool-ok", tagged_attributes(("tool_call_error", {})))
    async with running(make_config()) as app:
        await export(app, make_request([failed, errored, fine]))
        received = await wait_for(receiver, lambda s: len(s) == 3)
    key = score_attribute("tool_call_error", ScoreField.VALUE)
    assert by_name(received, "tool-failed").attributes[key] == 0.0
    assert (
        "error.type=Timeout"
        in by_name(received, "tool-failed").attributes[score_attribute("tool_call_error", ScoreField.REASON)]
    )
    assert by_name(received, "tool-status").attributes[key] == 0.0
    assert by_name(received, "tool-ok").attributes[key] == 1.0
