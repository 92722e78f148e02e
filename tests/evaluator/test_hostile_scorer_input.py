"""Built-in scorer options and inputs from hostile spans (issue 18, defect 4): no regex or schema freezes
the event loop, ``$ref`` never fetches, judge prompts are measured before they are built, and one span
cannot cause more than ``scoring.judge_calls_per_span`` judge calls. Each case goes through a running
evaluator, and the span is exported with its outcome."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from judgeval import semconv
from judgeval.semconv import ScoreField, score_attribute
from judgeval.testing.openai_server import RecordedOpenAIServer, Recording

from evaluator_service.scoring.builtin.bounded import check_deadline, run_bounded
from evaluator_service.scoring.contract import ScorerLimitError
from tests.support.evaluator import export, running, wait_for
from tests.support.spans import by_name, make_request, make_span, tagged_attributes

CATASTROPHIC = "^(a+)+$"
"""Exponential for a backtracking engine on "aaa...ab": 2**n steps for n letters."""
NEAR_MISS = "a" * 64 + "b"


def scored(name: str, scorer: str, example: dict[str, Any], config: dict[str, Any]) -> Any:
    return make_span(name, tagged_attributes((scorer, example), config=config))


async def score_one(make_config, receiver, span, doc: dict[str, Any] | None = None) -> dict[str, Any]:
    async with running(make_config(doc)) as app:
        await export(app, make_request([span]))
        received = await wait_for(receiver, lambda spans: any(s.name == span.name for s in spans))
    return by_name(received, span.name).attributes


async def test_catastrophic_regex_is_matched_in_linear_time(make_config, receiver):
    options = {"pattern": CATASTROPHIC, "mode": "no_match"}
    span = scored("regex", "regex", {"actual_output": NEAR_MISS}, options)
    attributes = await score_one(make_config, receiver, span)
    assert attributes[score_attribute("regex", ScoreField.VALUE)] == 1.0
    assert attributes[score_attribute("regex", ScoreField.REASON)] == "pattern not found"


async def test_regex_syntax_a_linear_engine_cannot_run_is_a_clear_error(make_config, receiver):
    span = scored("backref", "regex", {"actual_output": "aa"}, {"pattern": r"(a)\1"})
    attributes = await score_one(make_config, receiver, span)
    error = attributes[score_attribute("regex", ScoreField.ERROR)]
    assert error.startswith("invalid_example: scorer config pattern: invalid regular expression for RE2")
    assert attributes[semconv.JUDGEVAL_EVAL_STATUS] == semconv.EvalStatus.FAILED


async def test_json_schema_pattern_cannot_backtrack(make_config, receiver):
    schema = {"type": "object", "properties": {"id": {"type": "string", "pattern": CATASTROPHIC}},
              "patternProperties": {CATASTROPHIC: {"type": "string"}}, "additionalProperties": False}
    output = json.dumps({"id": NEAR_MISS, NEAR_MISS: 1})
    span = scored("schema", "json_schema", {"actual_output": output}, {"schema": schema})
    attributes = await score_one(make_config, receiver, span)
    assert attributes[score_attribute("json_schema", ScoreField.VALUE)] == 0.0
    assert "schema violation" in attributes[score_attribute("json_schema", ScoreField.REASON)]


async def test_pii_scans_long_text_without_quadratic_matching(make_config, receiver):
    text = "a" * 300_000 + " write to bob@example.com, card 4111 1111 1111 1111"
    span = scored("pii", "pii", {"actual_output": text}, {})
    attributes = await score_one(make_config, receiver, span)
    assert attributes[score_attribute("pii", ScoreField.REASON)] == "personal data found: credit_card, email"


class _SecretSchemaServer(ThreadingHTTPServer):
    def __init__(self) -> None:
        self.hits = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.hits += 1
                body = json.dumps({"enum": ["TOP-SECRET-VALUE"]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)


@pytest.fixture
def secret_server() -> Iterator[_SecretSchemaServer]:
    server = _SecretSchemaServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


async def test_json_schema_ref_is_never_fetched(make_config, receiver, secret_server):
    url = f"http://127.0.0.1:{secret_server.server_address[1]}/secret.json"
    span = scored("ssrf", "json_schema", {"actual_output": '"guess"'}, {"schema": {"$ref": url}})
    attributes = await score_one(make_config, receiver, span)
    error = attributes[score_attribute("json_schema", ScoreField.ERROR)]
    assert error.startswith("invalid_example: scorer config schema: $ref cannot be resolved")
    assert "nothing is fetched" in error and "TOP-SECRET" not in json.dumps(attributes)
    assert secret_server.hits == 0


@pytest.fixture
def judge(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordedOpenAIServer]:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    with RecordedOpenAIServer([Recording(match=[""], answer='{"score": 1, "reason": "ok"}')]) as server:
        yield server


def judge_doc(server: RecordedOpenAIServer, **scoring: Any) -> dict[str, Any]:
    return {"judge": {"base_url": server.base_url, "model": "judge-model"},
            "scoring": {"backoff_initial_s": 0.01, "backoff_max_s": 0.05, "timeout_s": 5, **scoring}}


async def test_template_format_specs_are_refused_before_any_allocation(make_config, receiver, judge):
    # A width of 50 MB here; the 351-byte span asked for 1.1 GB the same way.
    template = "Judge this: {actual_output:>50000000}"
    span = scored("widened", "prompt_judge", {"actual_output": "hi"}, {"template": template})
    attributes = await score_one(make_config, receiver, span, judge_doc(judge))
    error = attributes[score_attribute("prompt_judge", ScoreField.ERROR)]
    assert "placeholder '{actual_output:>50000000}' is not allowed" in error
    assert judge.requests == []


async def test_repeated_placeholders_cannot_grow_a_prompt_past_the_limit(make_config, receiver, judge):
    template = "{actual_output}" * 200
    span = scored("repeated", "prompt_judge", {"actual_output": "x" * 1000}, {"template": template})
    attributes = await score_one(make_config, receiver, span, judge_doc(judge))
    error = attributes[score_attribute("prompt_judge", ScoreField.ERROR)]
    assert error.startswith("limit: the judge prompt would be about 203000 characters")
    assert judge.requests == []


async def test_one_span_causes_at_most_judge_calls_per_span(make_config, receiver, judge):
    example = {"input": "q", "actual_output": "a"}
    span = make_span("many", tagged_attributes(*[("answer_relevancy", example)] * 30))
    attributes = await score_one(make_config, receiver, span, judge_doc(judge, judge_calls_per_span=4))
    assert len(judge.requests) == 4
    assert attributes[semconv.JUDGEVAL_EVAL_STATUS] == semconv.EvalStatus.PARTIAL
    assert "not run: this span already caused 4 LLM judge calls" in attributes[semconv.JUDGEVAL_EVAL_ERROR]


async def test_bounded_work_stops_at_its_limit_and_the_loop_keeps_running():
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    def spin() -> None:
        while True:
            check_deadline()

    running_ticker = asyncio.create_task(ticker())
    try:
        with pytest.raises(ScorerLimitError, match=r"spinning took longer than 0\.3 s and was stopped"):
            await run_bounded(spin, "spinning", limit_s=0.3)
    finally:
        running_ticker.cancel()
    assert ticks > 1, "the event loop ran while the work was bounded"
    assert await run_bounded(lambda: 42, "answering") == 42  # the pool is free again
