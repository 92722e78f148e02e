"""Two versions of one uploaded scorer that disagree on purpose, and the tagged span that asks for it: what
the scorer-shadow tests (in process and with the real ``judgeval-evaluator``) upload and send.

Version 1 passes a reply that mentions shipping; version 2 also wants a tracking number.
"""

from __future__ import annotations

from pathlib import Path

from judgeval import semconv
from judgeval.protocol.evaluation_request import EvaluationRequest, ScorerRef, encode_requests
from judgeval.protocol.otlp_values import to_any_value
from judgeval.semconv import ScoreField, score_attribute
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

NAME = "Shipping Scorer"
V1 = '''from judgeval.scorers.example_scorer import ExampleScorer


class ShippingScorer(ExampleScorer):
    name: str = "Shipping Scorer"

    async def a_score_example(self, example):
        ok = "ship" in str(example.response)
        self.reason = "v1: mentions shipping" if ok else "v1: says nothing about shipping"
        return 1.0 if ok else 0.0
'''
V2 = V1.replace('"ship" in', '"tracking" in').replace(
    '"v1: mentions shipping" if ok else "v1: says nothing about shipping"',
    '"v2: gives a tracking number" if ok else "v2: no tracking number"')
REQUIREMENTS = "pydantic\nopenai\n"
WITH_TRACKING = "It ships today, tracking number 1Z999."
WITHOUT_TRACKING = "It ships today."
VALUE, REASON = score_attribute(NAME, ScoreField.VALUE), score_attribute(NAME, ScoreField.REASON)


def write_versions(folder: Path) -> tuple[Path, Path, Path]:
    """``v1/shipping_scorer.py``, ``v2/shipping_scorer.py`` and ``requirements.txt`` under ``folder``."""
    paths = []
    for text, name in ((V1, "v1"), (V2, "v2")):
        (folder / name).mkdir(parents=True)
        path = folder / name / "shipping_scorer.py"
        path.write_text(text)
        paths.append(path)
    requirements = folder / "requirements.txt"
    requirements.write_text(REQUIREMENTS)
    return paths[0], paths[1], requirements


def tagged_span(trace_id: bytes, response: str) -> trace_service_pb2.ExportTraceServiceRequest:
    """One span asking the evaluator to score ``response`` with the (unpinned) shipping scorer."""
    span = Span(trace_id=trace_id, span_id=b"\x02" * 8, name="answer",
                start_time_unix_nano=1_700_000_000_000_000_000, end_time_unix_nano=1_700_000_001_000_000_000)
    example = {"request": "Where is my package?", "response": response}
    attributes = {
        semconv.JUDGEVAL_EVAL_STATUS: semconv.EvalStatus.PENDING.value,
        semconv.JUDGEVAL_EVAL_REQUESTS: encode_requests([EvaluationRequest(ScorerRef(name=NAME), example)]),
    }
    for key, value in attributes.items():
        span.attributes.add(key=key, value=to_any_value(value))
    return trace_service_pb2.ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=[span])])])
