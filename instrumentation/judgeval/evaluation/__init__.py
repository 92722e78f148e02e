"""Offline evaluation: replay stored interactions (and a fixed agent's new outputs) through a scorer.

::

    from judgeval.evaluation import assert_pass_rate, evaluate_dataset

    def test_the_prompt_fix_keeps_package_inquiries_passing():
        report = evaluate_dataset("failing-package-inquiries.jsonl", "Package Inquiry Scorer",
                                  agent="my_agent:answer")      # or agent=answer
        assert_pass_rate(report, 0.9)

The scorer runs on the evaluator (``$JUDGMENT_API_URL``, key ``$JUDGMENT_API_KEY``), exactly as in
production: uploaded scorers in the same sandbox. ``judgeval eval run`` is the same on the command line.
"""

from judgeval.evaluation.errors import EvaluationError
from judgeval.evaluation.records import read_records
from judgeval.evaluation.replay import ReplayProgress, assert_pass_rate, evaluate_dataset
from judgeval.evaluation.report import BehaviorPassRate, CaseResult, EvaluationReport
from judgeval.evaluation.report_table import format_report

__all__ = [
    "BehaviorPassRate",
    "CaseResult",
    "EvaluationError",
    "EvaluationReport",
    "ReplayProgress",
    "assert_pass_rate",
    "evaluate_dataset",
    "format_report",
    "read_records",
]
