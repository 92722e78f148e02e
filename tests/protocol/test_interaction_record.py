"""The interaction record's JSON form: round trip, and strict decoding that names the bad field."""

from __future__ import annotations

import json

import pytest
from judgeval.protocol.interaction_record import InteractionRecord, InvalidInteractionRecord, record_id

RECORD = InteractionRecord(scorer="Package Inquiry Scorer", trace_id="a" * 32, span_id="b" * 16, at=1.5,
                           example={"input": "where is my parcel?"}, threshold=0.5, score=0.25, passed=False,
                           reason="no tracking number", scorer_version=3, service="support", agent="triage",
                           behavior_id="bhv-1", attributes={"gen_ai.request.model": "gpt-4o"},
                           scorer_config={"strict": True})


def test_a_record_survives_its_json_form() -> None:
    data = json.loads(json.dumps(RECORD.to_json()))
    assert data["id"] == record_id("a" * 32, "b" * 16, "Package Inquiry Scorer") == RECORD.id
    assert InteractionRecord.from_json(data) == RECORD


@pytest.mark.parametrize(("change", "message"), [
    ({"score": "0.2"}, "field 'score' must be a number, got str"),
    ({"passed": 1}, "field 'passed' must be true or false, got int"),
    ({"example": []}, "field 'example' must be an object, got list"),
    ({"scorer_config": "strict"}, "field 'scorer_config' must be an object, got str"),
    ({"scorer": None}, "field 'scorer' must not be null"),
    ({"at": True}, "field 'at' must be a number, got bool"),
    ({"colour": "red"}, "unknown field(s) colour"),
])
def test_a_wrong_field_is_named(change: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInteractionRecord) as caught:
        InteractionRecord.from_json({**RECORD.to_json(), **change})
    assert str(caught.value) == message


def test_a_missing_field_is_named() -> None:
    data = RECORD.to_json()
    del data["threshold"]
    with pytest.raises(InvalidInteractionRecord, match="missing field 'threshold'"):
        InteractionRecord.from_json(data)
    with pytest.raises(InvalidInteractionRecord, match="must be a JSON object, got list"):
        InteractionRecord.from_json([])
