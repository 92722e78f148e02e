"""The trajectory-request payload: round trip, and strict decoding that names the offending field."""

from __future__ import annotations

import json

import pytest
from judgeval.protocol.evaluation_request import ScorerRef, encode_json, scorer_object
from judgeval.protocol.trajectory_request import (
    InvalidTrajectoryRequest,
    TrajectoryRequest,
    decode_trajectory_requests,
    encode_trajectory_request,
    encode_trajectory_requests,
    request_json,
)


def test_round_trip_keeps_every_field() -> None:
    requests = [
        TrajectoryRequest(
            ScorerRef("Tool Loop", "loops.ToolLoop", 0.7, True, 3, {"max": 2}), "trace", 0.5, "gpt-4.1"
        ),
        TrajectoryRequest(ScorerRef("Session Goal"), scope="session"),
    ]
    assert decode_trajectory_requests(encode_trajectory_requests(requests)) == requests


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("[", "not valid JSON"),
        ("[]", "non-empty JSON array"),
        ('[{"scorer": {"name": "x"}, "scope": "span"}]', "[0].scope must be one of trace, session"),
        ('[{"scorer": {"name": ""}}]', "[0].scorer.name must be a non-empty string"),
        ('[{"scorer": {"name": "x", "threshold": "high"}}]', "[0].scorer.threshold must be a finite number"),
        ('[{"scorer": {"name": "x"}, "sampling_rate": 1e999}]', "[0].sampling_rate must be a finite number"),
        ('[{"scorer": {"name": "x"}, "model": 5}]', "[0].model must be a string or null"),
        ("[" * 100_000 + "]" * 100_000, "too deeply"),
        (json.dumps([{"scorer": {"name": "x"}, "v": 2}]), "unsupported payload version"),
    ],
)
def test_invalid_payloads_name_the_problem(payload: str, message: str) -> None:
    with pytest.raises(InvalidTrajectoryRequest, match=message.replace("[", r"\[").replace(".", r"\.")):
        decode_trajectory_requests(payload)


@pytest.mark.parametrize(
    "request_",
    [
        TrajectoryRequest(ScorerRef("Loop", "m.Loop", 0.5, True, None, {"n": 3}), "trace", 0.25, "gpt-4.1"),
        TrajectoryRequest(ScorerRef("Sess \u00e9", server_hosted=False), "session", 1.0, None),
    ],
)
def test_request_json_from_an_encoded_scorer_decodes_to_the_same_request(request_: TrajectoryRequest) -> None:
    # The SDK's fast path: the scorer part is encoded (and cached) on its own, the rest spelled here.
    text = request_json(encode_json(scorer_object(request_.scorer)), request_.scope, request_.sampling_rate,
                        request_.model)
    assert json.loads(text) == encode_trajectory_request(request_)
    assert decode_trajectory_requests(f"[{text}]") == [request_]
