"""The trajectory-request payload: round trip, and strict decoding that names the offending field."""

from __future__ import annotations

import json

import pytest
from judgeval.protocol.evaluation_request import ScorerRef
from judgeval.protocol.trajectory_request import (
    InvalidTrajectoryRequest,
    TrajectoryRequest,
    decode_trajectory_requests,
    encode_trajectory_requests,
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
