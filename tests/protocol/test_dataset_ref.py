"""Dataset names and NAME@V references: one rule for the evaluator, the CLI and Dataset.pull."""

from __future__ import annotations

import pytest
from judgeval.protocol.dataset_ref import DatasetRef, InvalidDatasetRef, dataset_name_problem


def test_names_with_and_without_a_version_parse() -> None:
    assert DatasetRef.parse("tone-failures") == DatasetRef("tone-failures", None)
    assert DatasetRef.parse("team/tone.v2@12") == DatasetRef("team/tone.v2", 12)
    assert str(DatasetRef("a", 3)) == "a@3" and str(DatasetRef("a")) == "a"


@pytest.mark.parametrize(("text", "message"), [
    ("", "must not be empty"),
    ("has space", "invalid dataset name 'has space'"),
    ("-lead", "invalid dataset name"),
    ("x" * 201, "invalid dataset name"),
    ("name@", "invalid version '' in 'name@'"),
    ("name@0", "invalid version '0'"),
    ("name@v2", "invalid version 'v2'"),
    ("a@1@2", "invalid version '1@2'"),
])
def test_bad_references_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(InvalidDatasetRef, match=message):
        DatasetRef.parse(text)


def test_name_problem_is_none_for_good_names() -> None:
    assert dataset_name_problem("prod:failures_2026") is None
