"""An unmodified LangChain app (``langchain-openai``'s ``ChatOpenAI``) with one span of its own (plain
OpenTelemetry API, no judgeval). Run it under ``opentelemetry-instrument``; argv[1] says how many requests of
each model. Prints one answer per line."""

import sys

from langchain_openai import ChatOpenAI
from opentelemetry import trace

tracer = trace.get_tracer("zero-code-app")
for _ in range(int(sys.argv[1])):
    for model in ("gpt-5-mini", "gpt-5-nano"):
        with tracer.start_as_current_span("handle-request"):
            print(ChatOpenAI(model=model).invoke("Where is my package?").text)
