from judgeval.scorers.example_scorer import ExampleScorer


class SurrogateReasonScorer(ExampleScorer):
    name: str = "Surrogate Reason Scorer"

    async def a_score_example(self, example):
        self.reason = "half a pair: \ud800"
        return 1.0


class SurrogateErrorScorer(ExampleScorer):
    name: str = "Surrogate Error Scorer"

    async def a_score_example(self, example):
        raise ValueError("half a pair: \udfff")
