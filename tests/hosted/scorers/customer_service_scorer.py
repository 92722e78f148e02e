from judgeval.data import Example
from judgeval.scorers.example_scorer import ExampleScorer
from openai import OpenAI


# Define your data structure
class CustomerRequest(Example):
    request: str
    response: str


# Create your custom scorer
class PackageInquiryScorer(ExampleScorer):
    name: str = "Package Inquiry Scorer"
    server_hosted: bool = True  # Enable server hosting

    async def a_score_example(self, example: CustomerRequest):
        client = OpenAI()

        # Use LLM to evaluate if response addresses package inquiry
        evaluation_prompt = f"""
        Evaluate if the customer service response adequately addresses a package inquiry.

        Customer request: {example.request}
        Agent response: {example.response}

        Does the response address package-related concerns? Answer only "YES" or "NO".
        """

        completion = client.chat.completions.create(
            model="gpt-5-mini",
            messages=[{"role": "user", "content": evaluation_prompt}]
        )

        evaluation = completion.choices[0].message.content.strip().upper()

        if evaluation == "YES":
            self.reason = "LLM evaluation: Response appropriately addresses package inquiry"
            return 1.0
        else:
            self.reason = "LLM evaluation: Response doesn't adequately address package inquiry"
            return 0.0
