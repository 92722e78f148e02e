"""Judge call costs: the answer's ``usage`` times the model's configured price (``judge.prices``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from evaluator_service.config import ConfigError, load_config
from evaluator_service.scoring.judge_prices import ModelPrice
from evaluator_service.scoring.llm_client import JudgeAnswer, judge_answer


def _body(usage: object = None) -> bytes:
    answer: dict[str, object] = {"choices": [{"message": {"content": '{"score": 1}'}}]}
    if usage is not None:
        answer["usage"] = usage
    return json.dumps(answer).encode()


def test_usage_times_price_is_the_cost() -> None:
    price = ModelPrice(input_per_1m_tokens=0.15, output_per_1m_tokens=0.6)
    answer = judge_answer(_body({"prompt_tokens": 2000, "completion_tokens": 100}), price)
    assert (answer.input_tokens, answer.output_tokens) == (2000, 100)
    assert answer.cost_usd == pytest.approx((2000 * 0.15 + 100 * 0.6) / 1e6)


def test_without_a_price_or_usage_the_cost_is_unknown() -> None:
    usage = {"prompt_tokens": 10, "completion_tokens": 2}
    assert judge_answer(_body(usage), None) == JudgeAnswer('{"score": 1}', 10, 2, None)
    price = ModelPrice(1.0, 1.0)
    assert judge_answer(_body(), price) == JudgeAnswer('{"score": 1}')
    assert judge_answer(_body({"prompt_tokens": "many", "completion_tokens": 2}), price).cost_usd is None
    assert judge_answer(_body({"prompt_tokens": -1, "completion_tokens": 2}), price).cost_usd is None


def _judge(tmp_path: Path, judge: object) -> object:
    path = tmp_path / "evaluator.yaml"
    path.write_text(yaml.safe_dump({"judge": judge, "scorers": [
        {"name": "strict", "type": "faithfulness", "model": "gpt-4.1"}]}), encoding="utf-8")
    return load_config(config_file=str(path), environ={})


def test_prices_are_read_and_reach_every_judge_scorer(tmp_path: Path) -> None:
    config = _judge(tmp_path, {"prices": {"gpt-4.1": {"input_per_1m_tokens": 2, "output_per_1m_tokens": 8}}})
    assert config.judge.prices == {"gpt-4.1": ModelPrice(2.0, 8.0)}  # type: ignore[attr-defined]
    assert config.scorers[0].prices == config.judge.prices  # type: ignore[attr-defined]


@pytest.mark.parametrize(("prices", "message"), [
    ({"gpt-4.1": {"input_per_1m_tokens": 2}}, r"judge.prices.gpt-4.1.output_per_1m_tokens: required"),
    ({"gpt-4.1": {"input_per_1m_tokens": -1, "output_per_1m_tokens": 1}},
     r"judge.prices.gpt-4.1.input_per_1m_tokens: must be >= 0"),
    ({"gpt-4.1": {"input": 1, "output_per_1m_tokens": 1}}, r"judge.prices.gpt-4.1.input: unknown key"),
    ({"gpt-4.1": 3}, r"judge.prices.gpt-4.1: must be a mapping"),
])
def test_price_mistakes_name_the_key(tmp_path: Path, prices: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _judge(tmp_path, {"prices": prices})
