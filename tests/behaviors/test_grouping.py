"""Unit level: the local vectorizer, online clustering in the shared state, names, the config section and
the grouper's assignment (which returns the attributes to write instead of writing the span)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import pytest
from judgeval import semconv
from judgeval.protocol.evaluation_request import EvaluationRequest, ScorerRef
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from opentelemetry.sdk.metrics import MeterProvider

from evaluator_service.behaviors.grouper import BehaviorGrouper
from evaluator_service.behaviors.local_embedders import HASHING_SPACE, HashingEmbedder, WordLlamaEmbedder
from evaluator_service.behaviors.matching import nearest_behavior
from evaluator_service.behaviors.settings import BehaviorsConfig, parse_behaviors
from evaluator_service.behaviors.text import clean_model_name, failure_text, salient_name
from evaluator_service.behaviors.vectors import cosine
from evaluator_service.config_values import ConfigError, Section
from evaluator_service.metrics import EvaluatorMetrics
from evaluator_service.scoring.contract import ScoreOutcome, ScoreResult
from evaluator_service.state import SqliteSharedState
from evaluator_service.state.behavior_rows import (
    NAME_AUTO,
    NAME_OPERATOR,
    NAME_PROVISIONAL,
    BehaviorExample,
    FailureDraft,
    StoredBehavior,
    running_mean,
)

DOCS_FAIL = "LLM evaluation: Response doesn't adequately address package inquiry"
vectorizer = HashingEmbedder()
near, very_near = nearest_behavior(0.8), nearest_behavior(0.999)


def draft(text: str, scorer: str = "Package Inquiry Scorer", n: int = 1) -> FailureDraft:
    return FailureDraft(scorer=scorer, space=HASHING_SPACE, vector=vectorizer.vectorize(text),
                        example=BehaviorExample(f"{n:032x}", f"{n:016x}", text),
                        provisional_name=salient_name([text]))


@pytest.fixture
async def state(tmp_path: Path):  # type: ignore[no-untyped-def]
    shared = SqliteSharedState(tmp_path / "state.sqlite3")
    await shared.open()
    yield shared
    await shared.close()


@pytest.mark.parametrize(("embedder", "dims"), [(HashingEmbedder(), 2048), (WordLlamaEmbedder(), 256)],
                         ids=["hashing", "wordllama"])
def test_offline_vectors_are_deterministic_unit_vectors(embedder, dims: int) -> None:  # type: ignore[no-untyped-def]
    a, b = embedder.vectorize(DOCS_FAIL), type(embedder)().vectorize(DOCS_FAIL)
    assert a == b and len(a) == dims
    assert cosine(a, a) == pytest.approx(1.0)
    assert sum(v * v for v in a) == pytest.approx(1.0)


@pytest.mark.parametrize("embedder", [HashingEmbedder(), WordLlamaEmbedder()], ids=["hashing", "wordllama"])
def test_similar_failures_are_near_and_different_ones_far(embedder) -> None:  # type: ignore[no-untyped-def]
    reason = "present: none; missing: ['refund']\nactual_output: your order is delayed"
    late, later = embedder.vectorize(reason + " (7)"), embedder.vectorize(reason + " (8)")
    leak = embedder.vectorize("personal data found: email\nactual_output: write to bob@example.com")
    assert cosine(late, later) > 0.9
    assert cosine(late, leak) < 0.5


def test_wordllama_loads_offline_from_its_package(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import requests

    def no_network(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("WordLlama tried to download something")

    monkeypatch.setattr(requests, "get", no_network)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    vector = WordLlamaEmbedder().vectorize("The agent refused a refund")
    assert len(vector) == 256 and WordLlamaEmbedder.space == "local:wordllama-l2-supercat-256"
    paraphrase = WordLlamaEmbedder().vectorize("The agent declined to reimburse the customer")
    unrelated = WordLlamaEmbedder().vectorize("Personal data leaked: an e-mail address")
    assert cosine(vector, paraphrase) > cosine(vector, unrelated)


def test_running_mean() -> None:
    assert running_mean([1.0, 0.0], 1, [0.0, 1.0]) == [0.5, 0.5]
    assert running_mean([0.5, 0.5], 2, [1.0, 1.0]) == pytest.approx([2 / 3, 2 / 3])


async def test_similar_failures_join_one_behavior_and_different_ones_split(state) -> None:  # type: ignore[no-untyped-def]
    first, new, _ = await state.record_failure(draft(DOCS_FAIL + " (order 1)", n=1), near)
    assert new and first.member_count == 1 and first.name_source == NAME_PROVISIONAL
    second, new, _ = await state.record_failure(draft(DOCS_FAIL + " (order 2)", n=2), near)
    assert not new and second.id == first.id and second.member_count == 2
    assert [e.span_id for e in second.examples] == [f"{1:016x}", f"{2:016x}"]
    rude = draft("Response is rude and insults the customer", n=3)
    other, new, _ = await state.record_failure(rude, near)
    assert new and other.id != first.id
    same_text_other_scorer, new, _ = await state.record_failure(draft(DOCS_FAIL, scorer="Tone", n=4), near)
    assert new and same_text_other_scorer.id not in {first.id, other.id}
    listed = await state.behaviors()
    assert listed[0].id == first.id  # most members first
    assert len(listed) == 3


async def test_threshold_is_respected(state) -> None:  # type: ignore[no-untyped-def]
    a, *_ = await state.record_failure(draft(DOCS_FAIL + " (order 1)", n=1), very_near)
    b, new, _ = await state.record_failure(draft(DOCS_FAIL + " (order 2)", n=2), very_near)
    assert new and b.id != a.id
    c, new, _ = await state.record_failure(draft(DOCS_FAIL + " (order 1)", n=3), very_near)
    assert not new and c.id == a.id


async def test_a_stale_candidate_falls_back_to_the_nearest_search(state) -> None:  # type: ignore[no-untyped-def]
    a, *_ = await state.record_failure(draft(DOCS_FAIL, n=1), near)
    b, new, _ = await state.record_failure(draft(DOCS_FAIL, n=2), near, candidate_id="bhv_gone")
    assert not new and b.id == a.id


class OfferLog:
    """A chooser that records what the state offers it and decides like the grouper's."""

    def __init__(self, threshold: float = 0.8) -> None:
        self.offers: list[list[str]] = []
        self._choose = nearest_behavior(threshold)

    def __call__(self, failure: FailureDraft, behaviors: Sequence[StoredBehavior]) -> StoredBehavior | None:
        self.offers.append([b.id for b in behaviors])
        return self._choose(failure, behaviors)


async def test_the_candidate_is_offered_alone_and_a_declined_one_falls_back_to_all(state) -> None:  # type: ignore[no-untyped-def]
    docs, *_ = await state.record_failure(draft(DOCS_FAIL, n=1), near)
    rude, *_ = await state.record_failure(draft("Response is rude and insults the customer", n=2), near)
    log = OfferLog()
    joined, new, _ = await state.record_failure(draft(DOCS_FAIL + " (order 3)", n=3), log,
                                                candidate_id=docs.id)
    assert (joined.id, new, log.offers) == (docs.id, False, [[docs.id]])
    log = OfferLog()
    joined, new, _ = await state.record_failure(draft(DOCS_FAIL + " (order 4)", n=4), log,
                                                candidate_id=rude.id)
    assert (joined.id, new) == (docs.id, False)
    assert log.offers[0] == [rude.id] and sorted(log.offers[1]) == sorted([docs.id, rude.id])


async def test_only_the_failures_scorer_and_space_are_offered(state) -> None:  # type: ignore[no-untyped-def]
    mine, *_ = await state.record_failure(draft(DOCS_FAIL, n=1), near)
    await state.record_failure(draft(DOCS_FAIL, scorer="Tone", n=2), near)
    other_space = dataclasses.replace(draft(DOCS_FAIL, n=3), space="openai:text-embedding-3-small")
    elsewhere, new, _ = await state.record_failure(other_space, near)
    assert new and elsewhere.id != mine.id
    log = OfferLog()
    await state.record_failure(draft(DOCS_FAIL, n=4), log, candidate_id=elsewhere.id)
    assert log.offers == [[mine.id]]  # the other space's candidate is not even offered


async def test_a_chooser_declining_everything_creates_a_behavior(state) -> None:  # type: ignore[no-untyped-def]
    first, *_ = await state.record_failure(draft(DOCS_FAIL, n=1), near)
    created, new, _ = await state.record_failure(draft(DOCS_FAIL, n=2), lambda _draft, _rows: None,
                                              candidate_id=first.id)
    assert new and created.id != first.id and created.member_count == 1
    assert len(await state.behaviors()) == 2


def test_nearest_behavior_joins_the_most_similar_at_or_above_the_threshold() -> None:
    failure = draft(DOCS_FAIL)

    def stored(bid: str, centroid: list[float]) -> StoredBehavior:
        return StoredBehavior(bid, failure.scorer, failure.space, bid, NAME_PROVISIONAL, centroid,
                              member_count=1, first_seen=0.0, last_seen=0.0)

    close = stored("close", vectorizer.vectorize(DOCS_FAIL + " (order 2)"))
    far = stored("far", vectorizer.vectorize("Response is rude and insults the customer"))
    other_dims = stored("dims", failure.vector[:256])
    assert near(failure, [far, close, other_dims]) is close
    assert near(failure, [far, other_dims]) is None
    assert near(failure, []) is None
    assert nearest_behavior(cosine(failure.vector, close.centroid))(failure, [close]) is close


async def test_operator_names_win_over_generated_names(state) -> None:  # type: ignore[no-untyped-def]
    created, *_ = await state.record_failure(draft(DOCS_FAIL), near)
    assert created.name == "doesn't adequately address package inquiry"
    auto = await state.rename_behavior(created.id, "Ignores package questions", NAME_AUTO)
    assert auto is not None and auto.name_source == NAME_AUTO
    mine = await state.rename_behavior(created.id, "Package questions dodged", NAME_OPERATOR)
    assert mine is not None and mine.name == "Package questions dodged"
    late_auto = await state.rename_behavior(created.id, "Something else", NAME_AUTO)
    assert late_auto is not None and late_auto.name == "Package questions dodged"
    stored = await state.behavior(created.id)
    assert stored is not None
    assert (stored.name, stored.name_source) == ("Package questions dodged", NAME_OPERATOR)
    assert await state.rename_behavior("bhv_unknown", "x", NAME_OPERATOR) is None


def test_salient_names_are_phrases_of_the_reasons() -> None:
    assert salient_name([DOCS_FAIL]) == "doesn't adequately address package inquiry"
    assert salient_name(["present: none; missing: ['refund']"] * 3) == "missing: refund"
    assert salient_name(["personal data found: email", "personal data found: phone"]) == (
        "personal data found: email")
    # the number and the words between stay: the old top-words name read "tool search_web called times"
    assert salient_name(["tool 'search_web' was called 4 times in a row with the same arguments "
                         "{'q': 'x'} (at most 3 allowed)"]) == "tool 'search_web' was called 4 times"
    # a negation before the words it negates is always kept; a later clause ("although ...") counts less
    assert salient_name(["No refund was offered although the blender arrived broken."]) == (
        "no refund was offered")
    assert salient_name(["scorer_error: the judge cannot parse the package inquiry"]) == (
        "cannot parse the package inquiry")
    assert salient_name(["", "!!"]) == "unexplained failure"
    # a quoted word is what the scorer named, even a word that is a stop word elsewhere
    assert salient_name(['missing "thanks"'] * 3) == "missing thanks"
    assert salient_name(["The reply says thanks but ignores the question"]) == "ignores the question"


def test_model_names_are_cleaned() -> None:
    assert clean_model_name('Name: "Refund never offered."\nBecause ...') == "Refund never offered"
    assert clean_model_name("   ") == ""


def test_failure_text_has_scorer_reason_and_chosen_fields_truncated() -> None:
    example = {"input": "q", "actual_output": "x" * 5000, "other": "hidden"}
    text = failure_text("pii", "personal data found: email", example, ("input", "actual_output"))
    assert text.startswith("pii: personal data found: email\ninput: q\nactual_output: xxx")
    assert "hidden" not in text and len(text) < 1000


def test_config_defaults_and_values() -> None:
    default = parse_behaviors(Section({}, "behaviors"))
    assert default.enabled and default.similarity_threshold is None and default.embedding.model is None
    assert default.embedding.local == "wordllama"
    hashing = parse_behaviors(Section({"embedding": {"local": "hashing"}}, "behaviors"))
    assert hashing.embedding.local == "hashing"
    cfg = parse_behaviors(Section({"enabled": False, "similarity_threshold": 0.9, "fields": ["request"],
                                   "embedding": {"model": "e", "base_url": "http://x/v1"}}, "behaviors"))
    assert (cfg.enabled, cfg.similarity_threshold, cfg.fields) == (False, 0.9, ("request",))
    assert cfg.embedding.model == "e" and cfg.embedding.api_key_env == "OPENAI_API_KEY"


@pytest.mark.parametrize(("doc", "message"), [
    ({"similarity_threshold": 1.5}, "behaviors.similarity_threshold: must be between 0 and 1, got 1.5"),
    ({"similarity_threshold": 0}, "behaviors.similarity_threshold: must be > 0, got 0"),
    ({"enabled": "yes"}, "behaviors.enabled: must be true or false, got 'yes'"),
    ({"fields": "input"}, "behaviors.fields: must be a list of example field names, got 'input'"),
    ({"timeout_s": 0}, "behaviors.timeout_s: must be > 0, got 0"),
    ({"embedding": {"base_url": "http://x/v1"}}, "behaviors.embedding.model: required when base_url is set"),
    ({"naming": {"modle": "m"}}, "behaviors.naming.modle: unknown key (allowed: api_key_env, base_url, mod"),
    ({"colour": 1}, "behaviors.colour: unknown key"),
    ({"recluster_min_cluster_size": 1}, "behaviors.recluster_min_cluster_size: must be >= 2, got 1"),
    ({"recluster_interval_s": -1}, "behaviors.recluster_interval_s: must be >= 0, got -1"),
    ({"embedding": {"local": "bert"}}, "behaviors.embedding.local: must be wordllama or hashing, got 'bert'"),
    ({"naming": {"local": "hashing"}}, "behaviors.naming.local: unknown key"),
])
def test_config_errors_name_the_field(doc: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ConfigError) as caught:
        parse_behaviors(Section(doc, "behaviors"))
    assert str(caught.value).startswith(message)


def test_the_evaluator_config_reads_the_behaviors_section(tmp_path: Path) -> None:
    from evaluator_service.config import load_config

    path = tmp_path / "evaluator.yaml"
    path.write_text("behaviors:\n  similarity_threshold: 0.6\n  naming: {model: gpt-4o-mini}\n")
    config = load_config(config_file=str(path), environ={})
    assert config.behaviors.similarity_threshold == 0.6 and config.behaviors.naming.model == "gpt-4o-mini"
    path.write_text("behaviors:\n  embedding: {base_url: http://127.0.0.1:1/v1}\n")
    with pytest.raises(ConfigError, match=r"^behaviors\.embedding\.model: required when base_url is set$"):
        load_config(config_file=str(path), environ={})


async def test_assign_returns_the_behavior_attributes_and_leaves_the_span_alone(state) -> None:  # type: ignore[no-untyped-def]
    grouper = BehaviorGrouper(BehaviorsConfig(), state, EvaluatorMetrics(MeterProvider(), recording=False))
    await grouper.start()
    try:
        span = Span(trace_id=bytes(range(16)), span_id=bytes(range(8)), name="agent")
        request = EvaluationRequest(ScorerRef("Package Inquiry Scorer"), {"request": "where is it?"})
        failing = ScoreResult("Package Inquiry Scorer", 0.5, ScoreOutcome(0.0, reason=DOCS_FAIL))
        passing = ScoreResult("Package Inquiry Scorer", 0.5, ScoreOutcome(1.0))
        before = span.SerializeToString()
        assert await grouper.assign(span, [request], [passing]) == {}
        attributes = await grouper.assign(span, [request], [failing])
        assert span.SerializeToString() == before  # the dispatcher writes them, in its one enrichment pass
        (behavior,) = await state.behaviors()
        assert attributes == {
            semconv.JUDGEVAL_BEHAVIOR_ID: behavior.id,
            semconv.JUDGEVAL_BEHAVIOR_NAME: behavior.name,
            semconv.JUDGEVAL_BEHAVIOR_NEW: True,
            semconv.JUDGEVAL_BEHAVIOR_SCORER: "Package Inquiry Scorer",
            semconv.JUDGEVAL_BEHAVIOR_KIND: "failure",
        }
    finally:
        await grouper.stop()
