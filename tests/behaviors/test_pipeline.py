"""Behaviors end to end through a real in-process evaluator: OTLP in, scored and grouped spans out to a
real downstream receiver, embeddings and names from the recorded OpenAI-compatible server."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from judgeval import semconv
from judgeval.testing import RecordedOpenAIServer, Recording
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from evaluator_service.behaviors.event_log import StateBehaviorEventLog
from evaluator_service.state.behavior_rows import NAME_AUTO
from tests.support.evaluator import export, metric_points, running, wait_for
from tests.support.spans import make_request, make_span, tagged_attributes

from .failing_spans import PII, REFUND, SCORERS, behavior_of, no_refund_span, passing_span, pii_span, scored

NAMES = {REFUND: "Refund never offered", PII: "Leaks customer e-mail addresses"}


@pytest.fixture
def vendor(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordedOpenAIServer]:
    recordings = [Recording(match=[f'scorer "{scorer}"', "3 to 6 words"], answer=f'"{name}."')
                  for scorer, name in NAMES.items()]
    with RecordedOpenAIServer(recordings) as server:
        monkeypatch.setenv("BEHAVIOR_TEST_KEY", "sk-test")
        yield server


def behaviors_section(base_url: str, **extra: Any) -> dict[str, Any]:
    endpoint = {"base_url": base_url, "api_key_env": "BEHAVIOR_TEST_KEY"}
    # A generous timeout: a loaded CI machine must not turn a slow embedding call into a missing behavior
    # (tests of the timeout itself pass their own).
    return {"embedding": {"model": "text-embedding-3-small", **endpoint},
            "naming": {"model": "gpt-4o-mini", **endpoint}, "timeout_s": 30, **extra}


async def test_two_kinds_of_failures_become_two_named_behaviors(make_config, receiver, vendor) -> None:
    config = make_config({"scorers": SCORERS, "behaviors": behaviors_section(vendor.base_url)})
    spans = [no_refund_span(n) for n in range(3)] + [pii_span(n) for n in range(3)] + [passing_span(1)]
    async with running(config) as app:
        await export(app, make_request(spans))
        received = await wait_for(receiver, scored(len(spans)))
        assert app.behaviors is not None and app.behaviors.namer is not None
        await app.behaviors.namer.wait_idle()
        stored = {b.scorer: b for b in await app._state.behaviors()}  # type: ignore[union-attr]

    by_name = {s.name: s for s in received}
    assert behavior_of(by_name["ok-1"]) == (None, None, None)
    ids = {prefix: {behavior_of(by_name[f"{prefix}-{n}"])[0] for n in range(3)}
           for prefix in ("no-refund", "pii")}
    assert len(ids["no-refund"]) == 1 and len(ids["pii"]) == 1 and ids["no-refund"] != ids["pii"]
    for prefix, scorer in (("no-refund", REFUND), ("pii", PII)):
        members = [by_name[f"{prefix}-{n}"] for n in range(3)]
        assert [behavior_of(s)[2] for s in members].count(True) == 1  # new exactly once per behavior
        assert all(s.attributes[semconv.JUDGEVAL_BEHAVIOR_SCORER] == scorer for s in members)
        # The first member carries the provisional name; naming finishes in the background.
        assert {behavior_of(s)[1] for s in members} <= {stored[scorer].name, _provisional(scorer)}
        assert (stored[scorer].name, stored[scorer].name_source) == (NAMES[scorer], NAME_AUTO)
        assert stored[scorer].member_count == 3
        assert all(s.attributes[semconv.JUDGEVAL_EVAL_STATUS] == "scored" for s in members)
    embedded = [r for r in vendor.requests if r.get("model") == "text-embedding-3-small"]
    # Spans are placed concurrently, so the order of the embedding calls is not fixed.
    assert len(embedded) == 6
    assert any('refund_keyword: missing "refund"' in r["input"][0] for r in embedded)


def _provisional(scorer: str) -> str:
    return {REFUND: "missing refund", PII: "personal data found: email"}[scorer]


async def test_local_fallback_without_endpoints_and_metrics(make_config, receiver) -> None:
    reader = InMemoryMetricReader()
    config = make_config({"scorers": SCORERS})
    async with running(config, metric_readers=[reader]) as app:
        await export(app, make_request([no_refund_span(1), no_refund_span(2), pii_span(1)]))
        received = await wait_for(receiver, scored(3))
        points = metric_points(reader)
        assert app.behaviors is not None and app.behaviors.namer is None
    names = {behavior_of(s)[1] for s in received}
    assert names == {"missing refund", "personal data found: email"}
    assert len({behavior_of(s)[0] for s in received}) == 2
    assigned = {(p.attributes["scorer"], p.value) for p in points["judgeval.behaviors.assigned"]}
    assert {scorer for scorer, _ in assigned} == {REFUND, PII}
    assert sum(p.value for p in points["judgeval.behaviors.assigned"]) == 3
    assert sum(p.value for p in points["judgeval.behaviors.discovered"]) == 2


async def test_disabled_writes_no_behavior(make_config, receiver) -> None:
    config = make_config({"scorers": SCORERS, "behaviors": {"enabled": False}})
    async with running(config) as app:
        await export(app, make_request([pii_span(1)]))
        received = await wait_for(receiver, scored(1))
        assert app.behaviors is None
    assert behavior_of(received[0]) == (None, None, None)
    assert received[0].attributes[semconv.JUDGEVAL_EVAL_SUCCESS] is False


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """A TCP listener that never accepts: requests to it hang until the client's timeout."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1"


@pytest.mark.parametrize("endpoint_kind", ["refused", "hanging"])
async def test_failing_embeddings_never_hold_or_lose_a_span(make_config, receiver, monkeypatch,
                                                           silent_endpoint, endpoint_kind) -> None:
    monkeypatch.setenv("BEHAVIOR_TEST_KEY", "sk-test")
    url = f"http://127.0.0.1:{_closed_port()}/v1" if endpoint_kind == "refused" else silent_endpoint
    reader = InMemoryMetricReader()
    section = {"embedding": {"model": "e", "base_url": url, "api_key_env": "BEHAVIOR_TEST_KEY"},
               "timeout_s": 0.3}
    config = make_config({"scorers": SCORERS, "behaviors": section})
    async with running(config, metric_readers=[reader]) as app:
        await export(app, make_request([pii_span(1), no_refund_span(1), passing_span(1)]))
        received = await wait_for(receiver, scored(3))
        points = metric_points(reader)
    assert all(behavior_of(s) == (None, None, None) for s in received)
    assert {s.attributes[semconv.JUDGEVAL_EVAL_STATUS] for s in received} == {"scored"}
    errors = points["judgeval.behaviors.errors"]
    assert sum(p.value for p in errors) == 2
    expected_kind = "TransientScorerError" if endpoint_kind == "refused" else "timeout"
    assert {p.attributes["kind"] for p in errors} == {expected_kind}
    assert "judgeval.behaviors.assigned" not in points


async def test_missing_embedding_key_is_counted_not_raised(make_config, receiver, vendor,
                                                           monkeypatch) -> None:
    monkeypatch.delenv("BEHAVIOR_TEST_KEY")
    reader = InMemoryMetricReader()
    config = make_config({"scorers": SCORERS, "behaviors": behaviors_section(vendor.base_url)})
    async with running(config, metric_readers=[reader]) as app:
        await export(app, make_request([pii_span(1)]))
        received = await wait_for(receiver, scored(1))
        points = metric_points(reader)
    assert behavior_of(received[0]) == (None, None, None)
    assert [(p.attributes["kind"], p.value) for p in points["judgeval.behaviors.errors"]] == [
        ("FatalScorerError", 1)]


async def test_slow_naming_never_holds_export(make_config, receiver, monkeypatch) -> None:
    monkeypatch.setenv("BEHAVIOR_TEST_KEY", "sk-test")
    slow = [Recording(match=["3 to 6 words"], answer="Leaks customer e-mail addresses", delay_ms=1500)]
    with RecordedOpenAIServer(slow) as server:
        naming = {"model": "gpt-4o-mini", "base_url": server.base_url, "api_key_env": "BEHAVIOR_TEST_KEY"}
        config = make_config({"scorers": SCORERS, "behaviors": {"naming": naming, "timeout_s": 0.5}})
        async with running(config) as app:
            await export(app, make_request([pii_span(1), pii_span(2)]))
            received = await wait_for(receiver, scored(2))
            assert app.behaviors is not None and app.behaviors.namer is not None
            await app.behaviors.namer.wait_idle()
            stored = await app._state.behaviors()  # type: ignore[union-attr]
    # Exported with the provisional name although the model took three times the assignment timeout.
    assert {behavior_of(s)[1] for s in received} == {"personal data found: email"}
    assert [(b.name, b.name_source) for b in stored] == [("Leaks customer e-mail addresses", NAME_AUTO)]


async def test_scoring_errors_are_grouped_apart_from_failures(make_config, receiver) -> None:
    config = make_config({"scorers": SCORERS})
    unknown = [make_span(f"unknown-{n}", tagged_attributes(("no_such_scorer", {"actual_output": "x"})))
               for n in range(2)]
    async with running(config) as app:
        await export(app, make_request([*unknown, pii_span(1)]))
        received = await wait_for(receiver, scored(3))
        stored = await app._state.behaviors()  # type: ignore[union-attr]
    errors = [s for s in received if s.name.startswith("unknown-")]
    assert all(semconv.JUDGEVAL_EVAL_SUCCESS not in s.attributes for s in errors)
    assert {s.attributes[semconv.JUDGEVAL_EVAL_VERDICT] for s in errors} == {semconv.EvalVerdict.ERROR}
    assert {s.attributes[semconv.JUDGEVAL_BEHAVIOR_KIND] for s in errors} == {"error"}
    assert len({behavior_of(s)[0] for s in errors}) == 1  # one error group, not one per span
    failing = next(s for s in received if s.name.startswith("pii-"))
    assert failing.attributes[semconv.JUDGEVAL_BEHAVIOR_KIND] == "failure"
    assert sorted((b.kind, b.member_count) for b in stored) == [("error", 2), ("failure", 1)]


async def test_new_input_patterns_among_passing_traffic_become_input_behaviors(make_config, receiver) -> None:
    behaviors = {"inputs": {"enabled": True, "sample_rate": 1.0}, "embedding": {"local": "hashing"}}
    config = make_config({"scorers": SCORERS, "behaviors": behaviors})
    async with running(config) as app:
        await export(app, make_request([passing_span(1), passing_span(2), pii_span(1)]))
        received = await wait_for(receiver, scored(3))
        assert app.behaviors is not None and app.behaviors.inputs is not None
        await app.behaviors.inputs.wait_idle()
        stored = await app._state.behaviors()  # type: ignore[union-attr]
        events = await StateBehaviorEventLog(app._state).events_after(0)  # type: ignore[arg-type]
    by_kind = sorted((b.kind, b.scorer, b.member_count) for b in stored)
    # The spans' service is "agent" (tests/support/spans.py) and they name no agent. The two "My order is
    # late" requests are one input pattern, "Who handles my account?" another;
    # the PII failure is a failure behavior besides. Passing spans carry no behavior attributes.
    assert by_kind == [("failure", PII, 1), ("input", "input:agent", 1), ("input", "input:agent", 2)]
    assert all(behavior_of(s) == (None, None, None) for s in received if s.name.startswith("ok-"))
    created = [e for e in events if e.attributes["kind"] == "input"]
    assert len(created) == 2 and {e.kind.value for e in created} == {"behavior.created"}
