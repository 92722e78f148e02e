"""The public surface: the docs' imports, ``__all__`` pinned, Example and ExampleScorer behaviour."""

from __future__ import annotations

import judgeval.tracer
import pytest
from judgeval.data import Example
from judgeval.scorers.example_scorer import ExampleScorer


def test_tracer_all_is_pinned():
    assert sorted(judgeval.tracer.__all__) == [
        "InvalidTraceScorerConfig", "JudgevalUsageWarning", "TraceScorerConfig", "Tracer", "wrap"
    ]
    assert issubclass(judgeval.tracer.JudgevalUsageWarning, UserWarning)


def test_example_accepts_typed_and_ad_hoc_fields():
    class CustomerRequest(Example):
        request: str
        response: str

    typed = CustomerRequest(request="where?", response="here", channel="email")
    assert typed.model_dump(mode="json") == {"request": "where?", "response": "here", "channel": "email"}
    assert Example(input="x").model_dump() == {"input": "x"}


def test_scorer_defaults_and_mutable_reason():
    class Polite(ExampleScorer):
        pass

    class Named(ExampleScorer):
        name: str = "Package Inquiry Scorer"
        server_hosted: bool = True

    scorer = Polite()
    assert (scorer.name, scorer.threshold, scorer.server_hosted) == ("Polite", 0.5, False)
    scorer.reason = "because"
    assert scorer.reason == "because"
    assert Named().name == "Package Inquiry Scorer"
    assert Polite(name="custom").name == "custom"


async def test_base_scorer_must_be_implemented():
    with pytest.raises(NotImplementedError, match="a_score_example"):
        await ExampleScorer().a_score_example(Example())


def test_dataset_all_is_pinned():
    import judgeval.dataset

    assert sorted(judgeval.dataset.__all__) == ["Dataset", "DatasetError", "DatasetFileError"]
    assert Example(input="x").interaction is None  # set only on examples pulled from a dataset
