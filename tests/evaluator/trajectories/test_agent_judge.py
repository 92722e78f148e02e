"""The LLM agent judge against the recorded OpenAI-compatible server: the prompt it sends (the pinned
rendering under the rubric), the parsed score, models, rubrics, a huge trajectory and vendor errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from judgeval.testing import RecordedOpenAIServer, Recording

from evaluator_service.scoring.contract import (
    FatalScorerError,
    ScorerCrashedError,
    TransientScorerError,
)
from evaluator_service.scoring.settings import JudgeConfig, ScorerConfig
from evaluator_service.scoring.trajectory.agent_judge import DEFAULT_RUBRIC, AgentJudgeScorer, judge_prompt
from evaluator_service.scoring.trajectory.catalog import TrajectoryScorers
from evaluator_service.scoring.trajectory.rendering import RenderLimits, render_trajectory

from .fixtures import clean_trace, looping_trace, request
from .test_rendering import EXPECTED, huge_trace, multi_agent_trace

RECORDINGS = [
    Recording(match=["whole trajectory", "Locked rubric"], status=401),
    Recording(match=["whole trajectory", "Chatty rubric"], answer="I cannot decide."),
    Recording(match=["whole trajectory", "travel_planner"], answer='{"score": 0.4, "reason": "no hotel"}'),
    Recording(match=["whole trajectory", "reconcile every invoice"], answer="YES, it finished the job."),
    Recording(match=["whole trajectory", "fetch_page"], answer='{"score": 0.9, "reason": "efficient"}'),
    Recording(match=["whole trajectory", "4 LLM calls, 4 tool calls"], status=429, times=1),
    Recording(match=["whole trajectory", "4 LLM calls, 4 tool calls"],
              answer='Looping: {"score": 0, "reason": "searched the same thing four times"}'),
]


@pytest.fixture
def judge_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordedOpenAIServer]:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    with RecordedOpenAIServer(RECORDINGS) as server:
        yield server


def catalog(server: RecordedOpenAIServer, *entries: ScorerConfig) -> TrajectoryScorers:
    return TrajectoryScorers(entries, JudgeConfig(model="judge-model", base_url=server.base_url))


def entry(server: RecordedOpenAIServer, name: str, **options: object) -> ScorerConfig:
    return ScorerConfig(name=name, type="agent_judge", model="yaml-model", base_url=server.base_url,
                        options=dict(options))


def sent(server: RecordedOpenAIServer) -> list[tuple[str, str]]:
    return [(body["model"], body["messages"][0]["content"]) for body in server.requests]


async def test_the_judge_scores_the_rendered_trajectory_against_the_default_rubric(judge_server):
    scorers = catalog(judge_server)
    judge = scorers.resolve(request("agent_judge").scorer)
    assert isinstance(judge, AgentJudgeScorer) and judge.calls_judge
    outcome = await judge.score_trajectory(multi_agent_trace(), request("agent_judge"))
    assert (outcome.value, outcome.reason) == (0.4, "no hotel")
    assert sent(judge_server) == [("judge-model", judge_prompt(DEFAULT_RUBRIC, EXPECTED))]
    prompt = sent(judge_server)[0][1]
    assert "- Tool choice:" in prompt and "- Goal completion:" in prompt
    assert prompt.endswith('Reply with only a JSON object: {"score": <number from 0 to 1>, '
                           '"reason": "<one sentence>"}.')
    await scorers.aclose()


async def test_a_configured_rubric_replaces_the_default_and_braces_stay_as_written(judge_server):
    rubric = "Did it use fetch_page after search? Answer {yes} or {no} in JSON."
    scorers = catalog(judge_server, entry(judge_server, "weather_judge", rubric=rubric))
    judge = scorers.resolve(request("weather_judge").scorer)
    assert judge is not None
    outcome = await judge.score_trajectory(clean_trace(), request("weather_judge", model="ignored-model"))
    assert outcome.value == 0.9
    model, prompt = sent(judge_server)[0]
    assert model == "yaml-model"  # a YAML entry's model is fixed; the request's is ignored
    assert prompt == judge_prompt(rubric, render_trajectory(clean_trace()))
    assert DEFAULT_RUBRIC not in prompt
    await scorers.aclose()


async def test_the_builtin_used_by_name_takes_the_model_the_request_names(judge_server):
    scorers = catalog(judge_server)
    judge = scorers.resolve(request("agent_judge").scorer)
    assert judge is not None
    await judge.score_trajectory(clean_trace(), request("agent_judge", model="gpt-4.1"))
    await judge.score_trajectory(clean_trace(), request("agent_judge"))
    assert [model for model, _ in sent(judge_server)] == ["gpt-4.1", "judge-model"]
    await scorers.aclose()


async def test_a_huge_trajectory_is_sent_truncated_under_the_cap(judge_server):
    scorers = catalog(judge_server, entry(judge_server, "capped", max_chars=12_000, max_value_chars=100))
    judge = scorers.resolve(request("capped").scorer)
    assert judge is not None
    trace = huge_trace()
    outcome = await judge.score_trajectory(trace, request("capped"))
    assert outcome.value == 1.0 and outcome.reason == "YES, it finished the job."
    (_, prompt), = sent(judge_server)
    rendering = render_trajectory(trace, RenderLimits(max_chars=12_000, max_value_chars=100))
    assert prompt == judge_prompt(DEFAULT_RUBRIC, rendering)
    assert len(rendering) <= 12_000 and "steps omitted:" in rendering
    assert "Please reconcile every invoice of 2025." in rendering and "Reconciled 2,700 invoices" in rendering
    await scorers.aclose()


async def test_vendor_errors_and_answers_without_a_score_map_onto_the_scoring_contract(judge_server):
    scorers = catalog(judge_server, entry(judge_server, "locked", rubric="Locked rubric"),
                      entry(judge_server, "chatty", rubric="Chatty rubric"))
    judge = scorers.resolve(request("agent_judge").scorer)
    assert judge is not None
    with pytest.raises(TransientScorerError, match="HTTP 429"):  # the runner retries it
        await judge.score_trajectory(looping_trace(), request("agent_judge"))
    retried = await judge.score_trajectory(looping_trace(), request("agent_judge"))
    assert (retried.value, retried.reason) == (0.0, "searched the same thing four times")
    locked = scorers.resolve(request("locked").scorer)
    assert locked is not None
    with pytest.raises(FatalScorerError, match="HTTP 401"):  # the runner pauses the scorer
        await locked.score_trajectory(clean_trace(), request("locked"))
    chatty = scorers.resolve(request("chatty").scorer)
    assert chatty is not None
    with pytest.raises(ScorerCrashedError, match="judge answer has no score"):
        await chatty.score_trajectory(clean_trace(), request("chatty"))
    await scorers.aclose()
