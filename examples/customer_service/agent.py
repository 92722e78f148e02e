from judgeval.tracer import Tracer, wrap
from openai import OpenAI
from judgeval.data import Example
from judgeval.scorers.example_scorer import ExampleScorer
from customer_service_scorer import PackageInquiryScorer, CustomerRequest

judgment = Tracer(project_name="customer_service")
client = wrap(OpenAI())  # Auto-tracks all LLM calls


class CustomerServiceAgent:
    @judgment.observe(span_type="tool")
    def handle_request(self, request: str) -> str:
        # Generate response using OpenAI
        completion = client.chat.completions.create(
            model="gpt-5-mini",
            messages=[
                {"role": "system", "content": "You are a helpful customer service agent. Address customer inquiries professionally and helpfully."},
                {"role": "user", "content": request}
            ]
        )
        response = completion.choices[0].message.content

        # Online evaluation with server-hosted scorer
        judgment.async_evaluate(
            scorer=PackageInquiryScorer(),
            example=CustomerRequest(request=request, response=response),
            sampling_rate=0.95  # Scores 95% of agent runs
        )

        return response

    @judgment.agent()
    @judgment.observe(span_type="function")
    def run(self, request: str) -> str:
        return self.handle_request(request)


# Example usage
# (The docs run this at module level; the `__main__` guard only lets tests import the agent.)
if __name__ == "__main__":
    agent = CustomerServiceAgent()
    result = agent.run("Where is my package? I ordered it last week.")
    print(result)
