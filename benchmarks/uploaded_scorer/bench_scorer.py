"""The scorer the evaluator benchmark uploads with `judgeval upload_scorer` (runs in the sandbox)."""

from judgeval.data import Example
from judgeval.scorers.example_scorer import ExampleScorer


class BenchUploadedScorer(ExampleScorer):
    name: str = "Bench Uploaded Scorer"
    server_hosted: bool = True

    async def a_score_example(self, example: Example) -> float:
        text = str(getattr(example, "actual_output", "")).lower()
        self.reason = "mentions the package" if "package" in text else "no package"
        return 1.0 if "package" in text else 0.0
