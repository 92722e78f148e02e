"""Re-running a user's agent on stored examples: which fields it gets, where its answer goes, how its
failures stay with one case, and how a bad ``module:function`` is reported."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from judgeval.evaluation import EvaluationError
from judgeval.evaluation.agent_rerun import AgentCaseFailed, AgentRerun, load_agent


def rerun(agent: Any, example: dict[str, Any], output_field: str | None = None) -> dict[str, Any]:
    runner = AgentRerun(agent, output_field)
    try:
        return runner.new_example(example)
    finally:
        runner.close()


def test_the_agent_gets_the_fields_its_parameters_name_and_its_answer_replaces_the_output() -> None:
    def answer(input: str, tone: str = "plain") -> str:
        return f"{tone}: {input.upper()}"

    example = {"input": "hi", "actual_output": "old", "context": "unused"}
    assert rerun(answer, example) == {"input": "hi", "actual_output": "plain: HI", "context": "unused"}
    assert rerun(answer, {"input": "hi", "tone": "warm", "response": "old"})["response"] == "warm: HI"
    assert rerun(answer, {"input": "hi", "output": "old"})["output"] == "plain: HI"
    assert rerun(answer, {"input": "hi"})["actual_output"] == "plain: HI"
    assert rerun(answer, {"input": "hi", "response": "old"}, output_field="reply")["reply"] == "plain: HI"


def test_kwargs_agents_get_every_field_and_dict_answers_replace_fields() -> None:
    def answer(**fields: Any) -> dict[str, Any]:
        return {"response": sorted(fields), "extra": object()}

    new = rerun(answer, {"request": "a", "response": "old"})
    assert new["response"] == ["request", "response"]
    assert new["extra"].startswith("<object object")  # JSON cannot carry it: its str()


def test_async_agents_share_one_event_loop() -> None:
    loops: set[int] = set()

    async def answer(request: str) -> str:
        loops.add(id(asyncio.get_running_loop()))
        await asyncio.sleep(0)
        return request[::-1]

    runner = AgentRerun(answer)
    try:
        assert [runner.new_example({"request": r})["actual_output"] for r in ("ab", "cd")] == ["ba", "dc"]
    finally:
        runner.close()
    assert len(loops) == 1


def test_failures_are_the_cases_own() -> None:
    def answer(request: str) -> str:
        raise ConnectionError("model down")

    with pytest.raises(AgentCaseFailed, match="the agent raised ConnectionError: model down"):
        rerun(answer, {"request": "x"})
    with pytest.raises(AgentCaseFailed, match="needs 'request' but the example has only 'input'"):
        rerun(answer, {"input": "x"})


def test_positional_only_agents_are_refused_up_front() -> None:
    def answer(request: str, /) -> str:
        return request

    with pytest.raises(EvaluationError, match="positional-only"):
        AgentRerun(answer)


def test_load_agent_imports_from_the_directory_and_names_what_is_wrong(tmp_path: Path) -> None:
    (tmp_path / "shop_agent.py").write_text(
        "class Bot:\n    @staticmethod\n    def reply(request):\n        return 'ok'\n\nANSWER = 42\n")
    (tmp_path / "broken_agent.py").write_text("raise RuntimeError('no config')\n")
    assert load_agent("shop_agent:Bot.reply", tmp_path)(request="x") == "ok"
    for spec, fragment in (("shop_agent", "must be module:function"),
                           ("absent_module:f", "cannot import agent module 'absent_module'"),
                           ("broken_agent:f", "failed: RuntimeError: no config"),
                           ("shop_agent:missing", "has no 'missing'"),
                           ("shop_agent:ANSWER", "is not callable")):
        with pytest.raises(EvaluationError, match=fragment) as raised:
            load_agent(spec, tmp_path)
        assert raised.value.bad_input


def test_async_agents_run_concurrently_up_to_the_limit() -> None:
    in_flight, peak = 0, 0
    started = 0
    three_started = asyncio.Event()

    async def answer(request: str) -> str:
        nonlocal in_flight, peak, started
        in_flight += 1
        started += 1
        peak = max(peak, in_flight)
        if started == 3:
            three_started.set()
        if request == "bad":
            in_flight -= 1
            raise ValueError("bad request")
        await asyncio.wait_for(three_started.wait(), 30)  # only three concurrent calls ever get past this
        in_flight -= 1
        return request.upper()

    examples = {str(i): {"request": text} for i, text in enumerate(["a", "b", "bad", "c", "d", "e"])}
    runner = AgentRerun(answer)
    finished: list[int] = []
    try:
        done, failed = runner.new_examples(examples, concurrency=3, on_done=lambda: finished.append(1))
    finally:
        runner.close()
    assert {k: v["actual_output"] for k, v in done.items()} == {"0": "A", "1": "B", "3": "C", "4": "D",
                                                                 "5": "E"}
    assert failed == {"2": "the agent raised ValueError: bad request"}
    assert peak == 3 and len(finished) == 6


def test_plain_agents_run_in_threads_up_to_the_limit() -> None:
    import threading

    barrier = threading.Barrier(3, timeout=30)  # passes only when three calls run at once
    lock = threading.Lock()
    in_flight, peak = 0, 0

    def answer(request: str) -> str:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        barrier.wait()
        with lock:
            in_flight -= 1
        return request * 2

    examples = {str(i): {"request": str(i)} for i in range(6)}
    runner = AgentRerun(answer)
    done, failed = runner.new_examples(examples, concurrency=3)
    runner.close()
    assert failed == {} and peak == 3
    assert {k: v["actual_output"] for k, v in done.items()} == {str(i): str(i) * 2 for i in range(6)}
