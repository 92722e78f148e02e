"""Two versions of one uploaded scorer for replay tests: the production one, and a broken rewrite."""

from judgeval.data import Example
from judgeval.scorers.example_scorer import ExampleScorer


class CustomerRequest(Example):
    request: str
    response: str


class PackageInquiryScorer(ExampleScorer):
    """Passes answers that talk about the package; an answer saying CRASH makes the scorer itself fail."""

    name: str = "Package Inquiry Scorer"

    async def a_score_example(self, example: CustomerRequest):
        if "CRASH" in example.response:
            raise RuntimeError("cannot read this answer")
        about_package = "package" in example.response.lower()
        self.reason = "addresses the package" if about_package else "does not mention the package"
        return 1.0 if about_package else 0.0


class BrokenPackageInquiryScorer(ExampleScorer):
    """A rewrite that fails everything (the regression a replay must catch before promotion)."""

    name: str = "Package Inquiry Scorer"

    async def a_score_example(self, example: CustomerRequest):
        self.reason = "rejected by the rewritten rubric"
        return 0.0
