"""Datasets filled by rules through the real pipeline: OTLP spans asking for a score → the evaluator scores
them → the interaction sink selects, redacts and stores them → the rows are read back from the state
database (a second connection, as another replica or the admin API would)."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from judgeval import semconv
from judgeval.protocol.interaction_record import InteractionRecord
from judgeval.protocol.sampling import is_sampled_bytes
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from evaluator_service.config import EvaluatorConfig
from evaluator_service.state import SharedState, open_shared_state
from tests.support.evaluator import export, metric_points, running, wait_for
from tests.support.spans import make_request, make_span, tagged_attributes

POLITE = {"name": "Polite", "type": "regex", "options": {"pattern": "please"}}


@pytest.fixture
async def reader_state(make_config: Callable[..., EvaluatorConfig]) -> AsyncIterator[SharedState]:
    state = open_shared_state(make_config().state_db_url)
    await state.open()
    yield state
    await state.close()


def answer(text: str, question: str = "where is my order?", trace_id: bytes | None = None) -> Any:
    return make_span("answer", tagged_attributes(("Polite", {"input": question, "actual_output": text})),
                     trace_id=trace_id)


async def examples(state: SharedState, name: str, version: int | None = None) -> list[Any]:
    page = await state.dataset_examples(name, version, limit=1000)
    return [e.record for e in page.examples]


async def test_failing_spans_of_a_scorer_are_kept_redacted_once_each(make_config, receiver, reader_state):
    config = make_config({"scorers": [POLITE], "behaviors": {"enabled": False}, "datasets": {"rules": [
        {"dataset": "rude", "description": "impolite answers", "scorers": ["Polite"], "outcome": "failed"}]}})
    rude = answer("go away, mail jane.doe@example.com or call +1 415 555 0100", "card 4111 1111 1111 1111")
    polite = answer("please wait")
    reader = InMemoryMetricReader()
    async with running(config, metric_readers=[reader]) as app:
        await export(app, make_request([rude, polite], service="shop",
                                       resource_extra={semconv.DEPLOYMENT_ENVIRONMENT_NAME: "prod"}))
        await wait_for(receiver, lambda s: len(s) == 2)
        assert app.datasets is not None
        await app.datasets.flush()
        [again] = [r for r in await examples(reader_state, "rude")]
        app.datasets.sink([again])  # the same span's result again (e.g. a re-score): not a 2nd example
        await app.datasets.flush()
    info = await reader_state.dataset("rude")
    assert (info.description, info.version, info.example_count) == ("impolite answers", 1, 1)
    [stored] = await examples(reader_state, "rude")
    assert (stored.trace_id, stored.span_id) == (rude.trace_id.hex(), rude.span_id.hex())
    assert (stored.scorer, stored.passed, stored.service, stored.environment) == (
        "Polite", False, "shop", "prod")
    assert stored.example == {"input": "card [REDACTED:card]",
                              "actual_output": "go away, mail [REDACTED:email] or call [REDACTED:phone]"}
    points = metric_points(reader)
    redactions = {p.attributes["pattern"]: p.value for p in points[semconv.METRIC_DATASETS_REDACTIONS]}
    assert redactions == {"card": 1, "email": 1, "phone": 1}  # the stored record was already clean
    outcomes = {p.attributes["outcome"]: p.value for p in points[semconv.METRIC_DATASETS_RECORDS]}
    assert outcomes == {"added": 1, "unchanged": 1}


async def test_a_sampled_share_keeps_the_same_traces_the_sampling_rule_picks(make_config, receiver,
                                                                             reader_state):
    config = make_config({"scorers": [POLITE], "behaviors": {"enabled": False}, "datasets": {"rules": [
        {"dataset": "passes", "outcome": "passed", "sample": 0.25},
        {"dataset": "everything", "outcome": "any", "services": ["shop"]}]}})
    rng = random.Random(16)
    spans = [answer("please hold", trace_id=rng.randbytes(16)) for _ in range(120)]
    elsewhere = answer("please", trace_id=rng.randbytes(16))
    async with running(config) as app:
        await export(app, make_request(spans, service="shop"))
        await export(app, make_request([elsewhere], service="other"))
        await wait_for(receiver, lambda s: len(s) == 121)
        assert app.datasets is not None
        await app.datasets.flush()
    kept = {r.trace_id for r in await examples(reader_state, "passes")}
    expected = {s.trace_id.hex() for s in [*spans, elsewhere] if is_sampled_bytes(s.trace_id, 0.25)}
    assert kept == expected
    assert 15 <= len(kept) <= 45  # about a quarter of 120, not all or none
    assert len(await examples(reader_state, "everything")) == 120  # the other service's span is not kept


async def test_members_of_behaviors_and_errors_go_where_their_rules_say(make_config, receiver, reader_state):
    config = make_config({
        "scorers": [POLITE, {"name": "Broken", "type": "json_schema",
                             "options": {"schema": {"type": "object"}}}],
        "behaviors": {"embedding": {"local": "hashing"}},
        "datasets": {"rules": [{"dataset": "grouped", "behaviors": ["*"]},
                               {"dataset": "errors", "outcome": "error", "scorers": ["Broken"]}]}})
    failing = make_span("answer", tagged_attributes(("Polite", {"input": "hi", "actual_output": "no"}),
                                                    ("Broken", {"input": "hi"})))
    async with running(config) as app:
        await export(app, make_request([failing]))
        await wait_for(receiver, lambda s: len(s) == 1)
        assert app.datasets is not None
        await app.datasets.flush()
    [grouped] = await examples(reader_state, "grouped")
    assert grouped.scorer == "Polite" and grouped.behavior_id
    [error] = await examples(reader_state, "errors")
    assert (error.scorer, error.passed, error.score) == ("Broken", None, None) and error.error_kind


async def test_retention_trims_to_the_newest_as_a_new_version(make_config, receiver, reader_state):
    config = make_config({"scorers": [POLITE], "behaviors": {"enabled": False}, "datasets": {
        "retention_interval_s": 3600, "rules": [{"dataset": "recent", "max_examples": 2}]}})
    spans = [answer(f"no {i}") for i in range(4)]
    async with running(config) as app:
        for count, span in enumerate(spans, 1):  # one export each: the records' times follow the order
            await export(app, make_request([span]))
            await wait_for(receiver, lambda s, n=count: len(s) == n)
            assert app.datasets is not None
            await app.datasets.flush()
        before = await reader_state.dataset("recent")
        await app.datasets.apply_retention()
    after = await reader_state.dataset("recent")
    assert (before.version, before.example_count) == (4, 4)
    assert (after.version, after.example_count) == (5, 2)
    assert [r.span_id for r in await examples(reader_state, "recent")] == [s.span_id.hex() for s in spans[2:]]
    assert len(await examples(reader_state, "recent", 4)) == 4  # the old version still reads whole
    assert (await reader_state.dataset_versions("recent"))[-1].note == "retention"


async def test_a_full_write_queue_drops_and_counts_instead_of_blocking(make_config, reader_state):
    config = make_config({"behaviors": {"enabled": False}, "datasets": {
        "queue_size": 2, "rules": [{"dataset": "tiny"}, {"dataset": "also", "scorers": ["Other"]}]}})
    reader = InMemoryMetricReader()
    records = [InteractionRecord("Polite", f"{i:032x}", f"{i:016x}", float(i), {"input": "x"}, 0.5, 0.0,
                                 False) for i in range(1, 4)]
    async with running(config, metric_readers=[reader]) as app:
        assert app.datasets is not None
        app.datasets.sink(records)  # one span's three results at once: the queue takes two
        assert app.datasets.queued == 2
        await app.datasets.flush()
        app.datasets.sink(records[2:])  # room again
        await app.datasets.flush()
    points = metric_points(reader)[semconv.METRIC_DATASETS_RECORDS]
    counted = {(p.attributes["dataset"], p.attributes["outcome"], p.attributes.get("reason")): p.value
               for p in points}
    assert counted == {("tiny", "added", None): 3, ("tiny", "dropped", "queue_full"): 1}
    assert (await reader_state.dataset("tiny")).example_count == 3
    assert (await reader_state.dataset("also")).example_count == 0  # created at start, selected nothing
