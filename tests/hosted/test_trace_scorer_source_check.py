"""The AST check recognizes ``TraceScorer`` subclasses and says which kind each scorer class is, for the CLI
and the registry alike (without executing the file)."""

from __future__ import annotations

import pytest
from judgeval.scorers.source_check import (
    EXAMPLE_KIND,
    TRACE_KIND,
    ScorerSourceError,
    find_scorer_classes,
    select_scorer_class,
)

from evaluator_service.registry.validation import validate_upload

MIXED = '''
from judgeval.scorers import trace_scorer
from judgeval.scorers.example_scorer import ExampleScorer
from judgeval.scorers.trace_scorer import TraceScorer

class LoopBase(TraceScorer):
    pass

class ToolLoop(LoopBase):
    name = "Tool Loop"

class Qualified(trace_scorer.TraceScorer):
    pass

class Answer(ExampleScorer):
    pass

class Helper:
    pass
'''


def test_trace_scorer_subclasses_are_found_with_their_kind():
    found = [(c.class_name, c.scorer_name, c.kind) for c in find_scorer_classes(MIXED, "mixed.py")]
    assert found == [("LoopBase", None, TRACE_KIND), ("ToolLoop", "Tool Loop", TRACE_KIND),
                     ("Qualified", None, TRACE_KIND), ("Answer", None, EXAMPLE_KIND)]


def test_the_registry_stores_the_selected_class_kind():
    assert validate_upload(name="", source=MIXED, source_filename="mixed.py", requirements="",
                           class_name="ToolLoop").kind == TRACE_KIND
    assert validate_upload(name="", source=MIXED, source_filename="mixed.py", requirements="",
                           class_name="Answer").kind == EXAMPLE_KIND


def test_a_file_without_scorers_names_both_base_classes():
    with pytest.raises(ScorerSourceError) as caught:
        select_scorer_class("class Helper:\n    pass\n", "helper.py")
    assert "from judgeval.scorers.example_scorer import ExampleScorer" in str(caught.value)
    assert "from judgeval.scorers.trace_scorer import TraceScorer" in str(caught.value)
