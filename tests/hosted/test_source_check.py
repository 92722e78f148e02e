"""The shared ast-based scorer finder (used by the CLI and the registry)."""

from __future__ import annotations

import pytest
from judgeval.scorers.source_check import ScorerSourceError, find_scorer_classes, select_scorer_class

from .admin_server import DOCS_SCORER, SCORERS


def test_docs_scorer_is_found_with_its_literal_name() -> None:
    found = select_scorer_class(DOCS_SCORER.read_text(), DOCS_SCORER.name)
    assert (found.class_name, found.scorer_name) == ("PackageInquiryScorer", "Package Inquiry Scorer")


def test_indirect_subclasses_count_and_base_classes_do_not() -> None:
    source = (
        "from judgeval.scorers import example_scorer\n"
        "class Child(Base):\n    name = 'child'\n"
        "class Base(example_scorer.ExampleScorer):\n    pass\n"
        "class Unrelated:\n    name = 'x'\n"
    )
    found = find_scorer_classes(source, "s.py")
    assert [(s.class_name, s.scorer_name) for s in found] == [("Child", "child"), ("Base", None)]


def test_several_scorers_are_listed_and_class_picks_one() -> None:
    source = (SCORERS / "two_scorers.py").read_text()
    with pytest.raises(ScorerSourceError, match=r"LengthScorer \(line 4\), PolitenessScorer"):
        select_scorer_class(source, "two_scorers.py")
    picked = select_scorer_class(source, "two_scorers.py", "PolitenessScorer")
    assert picked.scorer_name == "Politeness Scorer"


def test_syntax_error_names_file_line_and_column() -> None:
    with pytest.raises(ScorerSourceError, match=r"^bad\.py:2:\d+: syntax error"):
        select_scorer_class("x = 1\ndef broken(:\n", "bad.py")


def test_no_scorer_class_explains_what_to_define() -> None:
    with pytest.raises(ScorerSourceError, match="no scorer class found; define a class deriving from"):
        select_scorer_class("class A:\n    pass\n", "a.py")
