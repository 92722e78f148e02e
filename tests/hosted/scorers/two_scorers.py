from judgeval.scorers.example_scorer import ExampleScorer


class LengthScorer(ExampleScorer):
    name = "Length Scorer"

    async def a_score_example(self, example):
        return 1.0 if len(str(example.response)) > 3 else 0.0


class PolitenessScorer(ExampleScorer):
    name: str = "Politeness Scorer"

    async def a_score_example(self, example):
        self.reason = "says please" if "please" in str(example.response) else "no please"
        return 1.0 if "please" in str(example.response) else 0.0
