"""An agent traced with the judgeval SDK (``wrap`` + ``@agent``), as in the docs."""

import openai
from judgeval.tracer import Tracer, wrap

judgment = Tracer(project_name="coexistence")
client = wrap(openai.OpenAI())


class SupportAgent:
    id = "support-1"

    @judgment.agent()
    @judgment.observe(span_type="agent")
    def answer(self, question: str) -> str:
        completion = client.chat.completions.create(
            model="gpt-5-mini", messages=[{"role": "user", "content": question}]
        )
        return completion.choices[0].message.content or ""


print(SupportAgent().answer("Where is my package?"))
