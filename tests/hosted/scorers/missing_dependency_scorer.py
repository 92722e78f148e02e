import judgeval_not_installed_anywhere  # noqa: F401  (not in requirements.txt: fails when loaded)
from judgeval.scorers.example_scorer import ExampleScorer


class MissingDependencyScorer(ExampleScorer):
    async def a_score_example(self, example):
        return 1.0
