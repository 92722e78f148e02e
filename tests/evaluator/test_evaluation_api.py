"""The ``judgeval.admin.v1.Evaluation`` API over real gRPC on a running evaluator: built-in and YAML
scorers resolved through the app's chain, the stream's shape, per-case errors, refusals with status codes.
(Uploaded scorers in the sandbox: ``tests/hosted/test_replay_cli.py``.)"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from judgeval.admin.v1 import evaluation_pb2 as pb
from judgeval.admin.v1 import evaluation_pb2_grpc as pb_grpc
from judgeval.testing import RecordedOpenAIServer, Recording

from evaluator_service.admin.evaluation_servicer import evaluation_installer
from evaluator_service.app import EvaluatorApp
from evaluator_service.config import load_config

KEY = "replay-key"
SHIPS = {"name": "ships", "type": "keyword", "options": {"keywords": ["ships"]}}
LOOPS = {"name": "loops", "type": "tool_loop"}
AUTH = (("authorization", f"Bearer {KEY}"),)


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[EvaluatorApp]:
    config_file = tmp_path / "evaluator.yaml"
    config_file.write_text(yaml.safe_dump({"scorers": [SHIPS, LOOPS]}))
    config = load_config(listen="127.0.0.1:0", data_dir=str(tmp_path / "data"), api_key=KEY,
                         config_file=str(config_file), environ={})
    evaluator: EvaluatorApp
    evaluator = EvaluatorApp(config, service_installers=[evaluation_installer(lambda: evaluator, KEY)])
    await evaluator.start()
    yield evaluator
    await evaluator.stop(grace=1.0)


def case(case_id: str, example: Any, threshold: float = 0.5) -> pb.EvaluationCase:
    return pb.EvaluationCase(id=case_id, example_json=json.dumps(example), threshold=threshold)


async def run(app: EvaluatorApp, request: pb.RunEvaluationRequest,
              metadata: tuple[tuple[str, str], ...] = AUTH) -> list[pb.EvaluationEvent]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
        stub = pb_grpc.EvaluationStub(channel)
        return [event async for event in stub.RunEvaluation(request, metadata=metadata, timeout=30)]


async def refusal(app: EvaluatorApp, request: pb.RunEvaluationRequest,
                  metadata: tuple[tuple[str, str], ...] = AUTH) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await run(app, request, metadata)
    return raised.value


async def test_a_yaml_scorer_replays_with_one_result_per_case_between_started_and_finished(
    app: EvaluatorApp
) -> None:
    cases = [case("a", {"actual_output": "it ships today"}), case("b", {"actual_output": "no idea"}),
             case("c", [1, 2]), case("d", {"actual_output": "ships"}, threshold=2.0)]
    events = await run(app, pb.RunEvaluationRequest(scorer="ships", cases=cases))
    kinds = [e.WhichOneof("event") for e in events]
    assert kinds == ["started", "result", "result", "result", "result", "finished"]
    assert events[0].started == pb.EvaluationStarted(scorer="ships", scorer_version=0,
                                                      scorer_source="builtin", cases=4)
    results = {e.result.id: e.result for e in events[1:-1]}
    assert (results["a"].score, results["a"].passed, results["a"].error_kind) == (1.0, True, "")
    assert (results["b"].score, results["b"].passed) == (0.0, False)
    assert results["c"].error_kind == "invalid_example" and not results["c"].HasField("score")
    assert "must be a JSON object, got list" in results["c"].reason
    assert results["d"].passed is False  # the case's own threshold, as production had it
    assert events[-1].finished == pb.EvaluationFinished(scored=3, errors=1)


async def test_a_builtin_scorer_by_type_name_replays_too(app: EvaluatorApp) -> None:
    events = await run(app, pb.RunEvaluationRequest(
        scorer="pii", cases=[case("clean", {"actual_output": "hello"}),
                             case("leak", {"actual_output": "mail me at someone@example.com"})]))
    results = {e.result.id: e.result for e in events if e.WhichOneof("event") == "result"}
    assert results["clean"].passed is True and results["leak"].passed is False


async def test_the_scorer_config_reaches_the_scorer_as_a_span_requests_config(app: EvaluatorApp) -> None:
    cases = [case("hit", {"actual_output": "a refund is on its way"}),
             case("miss", {"actual_output": "ships"})]
    events = await run(app, pb.RunEvaluationRequest(scorer="keyword", cases=cases,
                                                    scorer_config_json='{"keywords": ["refund"]}'))
    results = {e.result.id: e.result for e in events if e.WhichOneof("event") == "result"}
    assert (results["hit"].passed, results["miss"].passed) == (True, False)
    unconfigured = await run(app, pb.RunEvaluationRequest(scorer="keyword", cases=cases[:1]))
    assert unconfigured[1].result.error_kind != "" and "keywords" in unconfigured[1].result.reason


@pytest.mark.parametrize(("request_fields", "code", "fragment"), [
    ({"scorer": "nobody"}, grpc.StatusCode.NOT_FOUND, "no scorer named 'nobody'"),
    ({"scorer": "ships", "scorer_version": 2}, grpc.StatusCode.FAILED_PRECONDITION, "has no versions"),
    ({"scorer": "loops"}, grpc.StatusCode.FAILED_PRECONDITION, "replaying trajectories is not supported"),
    ({"scorer": " "}, grpc.StatusCode.INVALID_ARGUMENT, "non-empty name"),
    ({"scorer": "ships", "scorer_config_json": "[1]"}, grpc.StatusCode.INVALID_ARGUMENT, "JSON object"),
    ({"scorer": "ships", "scorer_config_json": "{"}, grpc.StatusCode.INVALID_ARGUMENT, "not valid JSON"),
])
async def test_scorers_that_cannot_replay_are_refused_before_any_case_runs(
    app: EvaluatorApp, request_fields: dict[str, Any], code: grpc.StatusCode, fragment: str
) -> None:
    error = await refusal(app, pb.RunEvaluationRequest(cases=[case("a", {})], **request_fields))
    assert error.code() == code and fragment in (error.details() or "")


async def test_malformed_requests_are_invalid_arguments(app: EvaluatorApp) -> None:
    too_many = [case(str(i), {}) for i in range(1001)]
    for cases, fragment in (([], "no cases"), (too_many, "at most 1000"),
                            ([case("x", {}), case("x", {})], "unique"), ([case("", {})], "1 to 500")):
        error = await refusal(app, pb.RunEvaluationRequest(scorer="ships", cases=cases))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and fragment in (error.details() or "")


async def test_a_paused_scorer_is_refused_with_the_reason(app: EvaluatorApp) -> None:
    await app.pauses.pause("ships", "judge rejected the key")
    error = await refusal(app, pb.RunEvaluationRequest(scorer="ships", cases=[case("a", {})]))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "paused: judge rejected the key" in (error.details() or "")


async def test_authentication_is_the_admin_apis(app: EvaluatorApp) -> None:
    request = pb.RunEvaluationRequest(scorer="ships", cases=[case("a", {"actual_output": "ships"})])
    assert (await refusal(app, request, ())).code() == grpc.StatusCode.UNAUTHENTICATED
    wrong = await refusal(app, request, (("authorization", "Bearer nope"),))
    assert wrong.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_an_evaluator_without_a_key_refuses_replays(tmp_path: Path) -> None:
    config = load_config(listen="127.0.0.1:0", data_dir=str(tmp_path / "data"), environ={})
    evaluator: EvaluatorApp
    evaluator = EvaluatorApp(config, service_installers=[evaluation_installer(lambda: evaluator, None)])
    await evaluator.start()
    try:
        error = await refusal(evaluator, pb.RunEvaluationRequest(scorer="pii", cases=[case("a", {})]))
    finally:
        await evaluator.stop(grace=1.0)
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION and "replays" in (error.details() or "")


async def test_a_judge_refusing_the_key_fails_the_replay_cases_and_never_pauses_production(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "revoked")
    with RecordedOpenAIServer([Recording(match=[], status=401)]) as judge:
        config_file = tmp_path / "judge.yaml"
        config_file.write_text(yaml.safe_dump({"judge": {"base_url": judge.base_url, "model": "m"}}))
        config = load_config(listen="127.0.0.1:0", data_dir=str(tmp_path / "data"), api_key=KEY,
                             config_file=str(config_file), environ={})
        evaluator: EvaluatorApp
        evaluator = EvaluatorApp(config, service_installers=[evaluation_installer(lambda: evaluator, KEY)])
        await evaluator.start()
        try:
            cases = [case(str(i), {"input": "where?", "actual_output": "here"}) for i in range(3)]
            events = await run(evaluator, pb.RunEvaluationRequest(scorer="answer_relevancy", cases=cases))
            paused = evaluator.pauses.reason("answer_relevancy")
        finally:
            await evaluator.stop(grace=1.0)
    results = [e.result for e in events if e.WhichOneof("event") == "result"]
    assert [r.error_kind for r in results] == ["auth"] * 3 and "401" in results[0].reason
    assert paused is None
