"""An unmodified OpenAI app with one span of its own (plain OpenTelemetry API, no judgeval, no LLM
attributes). Run it under ``opentelemetry-instrument``; argv[1] says how many requests of each model."""

import sys

import openai
from opentelemetry import trace

tracer = trace.get_tracer("zero-code-app")
client = openai.OpenAI()
for _ in range(int(sys.argv[1])):
    for model in ("gpt-5-mini", "gpt-5-nano"):
        with tracer.start_as_current_span("handle-request"):
            question = [{"role": "user", "content": "Where is my package?"}]
            completion = client.chat.completions.create(model=model, messages=question)
            print(completion.choices[0].message.content)
