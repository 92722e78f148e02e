"""Request values already encoded as JSON (a whole trajectory, encoded off the event loop) are spliced into
the request frame as they are and decode like the plain value would."""

from __future__ import annotations

import json

import pytest

from evaluator_service.sandbox.protocol import (
    MAX_FRAME_BYTES,
    EncodedJson,
    ProtocolError,
    encode_request,
    encode_request_frames,
)

TRACE = {"trace_spans": [{"span_id": "01", "inputs": {"q": "é \"quoted\""}}], "scope": "trace"}


@pytest.mark.parametrize("request_", [
    {"id": 7, "op": "score_trace", "trace": TRACE, "config": {"max_repeats": 2}, "threshold": 0.5},
    {"trace": TRACE},
])
def test_an_encoded_value_decodes_like_the_plain_one(request_):
    encoded = {k: EncodedJson(json.dumps(v).encode()) if k == "trace" else v for k, v in request_.items()}
    (frame,) = encode_request_frames([encode_request(encoded)])
    assert json.loads(frame[4:]) == {"requests": [request_]}


def test_an_encoded_value_too_large_for_a_frame_is_refused():
    with pytest.raises(ProtocolError, match="exceeds"):
        encode_request({"id": 1, "trace": EncodedJson(b'"' + b"x" * MAX_FRAME_BYTES + b'"')})
