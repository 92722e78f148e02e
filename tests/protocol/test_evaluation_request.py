"""The evaluation-request payload round-trips and rejects bad input with precise messages."""

from __future__ import annotations

import json

import pytest
from judgeval.protocol.evaluation_request import (
    FROM_VOCABULARY,
    EvaluationRequest,
    InvalidEvaluationRequest,
    ScorerRef,
    append_request,
    decode_requests,
    encode_requests,
)


def _request(name: str = "Package Inquiry Scorer") -> EvaluationRequest:
    return EvaluationRequest(
        scorer=ScorerRef(name=name, class_path="m.C", threshold=0.7, version=3, config={"model": "x"}),
        example={"request": "where?", "response": "here"},
        sampling_rate=0.95,
    )


def test_round_trip() -> None:
    raw = encode_requests([_request(), _request("b")])
    assert decode_requests(raw) == [_request(), _request("b")]


def test_append_builds_the_same_array_as_encode() -> None:
    raw = append_request(append_request(None, _request()), _request("b"))
    assert json.loads(raw) == json.loads(encode_requests([_request(), _request("b")]))
    assert decode_requests(raw)[1].scorer.name == "b"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (42, "must be a JSON string"),
        ("{not json", "is not valid JSON"),
        ("[]", "non-empty JSON array"),
        ('["x"]', "[0] must be an object"),
        ('[{"scorer": {}}]', "[0].scorer.name must be a non-empty string"),
        ('[{"scorer": {"name": "a"}, "example": []}]', "[0].example must be an object"),
        ('[{"scorer": {"name": "a", "threshold": "high"}}]', "[0].scorer.threshold must be a finite number"),
        ('[{"scorer": {"name": "a", "version": 0}}]', "[0].scorer.version must be a positive integer"),
        ('[{"v": 9, "scorer": {"name": "a"}}]', "unsupported payload version 9"),
        ('[{"scorer": {"name": "a"}, "sampling_rate": NaN}]', "[0].sampling_rate must be a finite number"),
        ('[{"scorer": {"name": "a"}, "example_from": ["input"]}]', "[0].example_from must be an object"),
        ('[{"scorer": {"name": "a"}, "example_from": {"input": 1}}]', "[0].example_from must be an object"),
        ('[{"scorer": {"name": "a"}, "example_from": {"input": ""}}]', "non-empty source string"),
        ("[" * 100_000 + "]" * 100_000, "nests arrays or objects too deeply"),
        ('[{"scorer": {"name": "a"}, "example": {"n": ' + "9" * 5000 + "}}]", "cannot be decoded: Exceeds"),
        ('[{"scorer": {"name": "a", "threshold": 1' + "0" * 400 + "}}]",
         "[0].scorer.threshold must be a finite number, got an integer of 401 digits"),
        ('[{"scorer": {"name": "a", "version": 1' + "0" * 30 + "}}]", "[0].scorer.version must be a"),
        ('[{"v": "' + "x" * 5000 + '", "scorer": {"name": "a"}}]', "... (5002 characters)"),
    ],
)
def test_decode_rejects_with_a_message_naming_the_field(raw: object, message: str) -> None:
    with pytest.raises(InvalidEvaluationRequest) as info:
        decode_requests(raw)
    assert message in str(info.value)


def test_non_json_values_in_examples_are_stringified() -> None:
    from datetime import date

    req = EvaluationRequest(scorer=ScorerRef(name="a"), example={"when": date(2026, 1, 2)})
    assert decode_requests(encode_requests([req]))[0].example == {"when": "2026-01-02"}


def test_encoding_is_compact_ascii_json_in_the_payload_order() -> None:
    req = _request()
    expected = {
        "v": 1,
        "scorer": {"name": req.scorer.name, "class": "m.C", "threshold": 0.7, "server_hosted": True,
                   "version": 3, "config": {"model": "x"}},
        "example": {"request": "where?", "response": "here"},
        "sampling_rate": 0.95,
    }
    assert encode_requests([req]) == json.dumps([expected], separators=(",", ":"))
    unicode = EvaluationRequest(scorer=ScorerRef(name="é"), example={"t": "✓"})
    assert encode_requests([unicode]).isascii()
    assert decode_requests(encode_requests([unicode])) == [unicode]


def test_a_rule_request_refers_to_the_span_instead_of_copying_it() -> None:
    ref = EvaluationRequest(
        scorer=ScorerRef(name="a"), example={},
        example_from={"input": FROM_VOCABULARY, "actual_output": "llm.answer"},
    )
    raw = encode_requests([ref, _request()])
    assert decode_requests(raw) == [ref, _request()]
    assert json.loads(raw)[0]["example_from"] == {"input": "*", "actual_output": "llm.answer"}
    assert "example_from" not in json.loads(raw)[1]  # SDK requests carry their example, as before
    assert decode_requests(append_request(None, ref)) == [ref]
