from judgeval.scorers.example_scorer import ExampleScorer


class ParcelScorer(ExampleScorer):
    name: str = "Parcel Scorer"

    async def a_score_example(self, example):
        answered = "depot" in str(example.actual_output)
        self.reason = "names the depot" if answered else "does not say where the parcel is"
        return 1.0 if answered else 0.0
