from judgeval.scorers.example_scorer import ExampleScorer


class ParcelScorer(ExampleScorer):
    name: str = "Parcel Scorer"

    async def a_score_example(self, example):
        self.reason = f"v2 read {len(str(example.input))} input characters"
        return 0.25
