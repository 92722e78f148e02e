"""An agent whose OpenAI or Anthropic calls another instrumentation also traces, next to judgeval's.

Usage: ``python foreign_instrumentation_app.py MODULE:INSTRUMENTOR openai|anthropic``. The other
instrumentor and judgeval's (``JudgevalInstrumentor`` and ``wrap()``) trace one in-memory provider; every
call runs inside an ``@agent``. Prints one JSON line per call (its label and the spans it made), read by
``test_foreign_instrumentations``; the last call is made after the other instrumentor is undone. The LLM
server's address comes from ``OPENAI_BASE_URL``.
"""

import asyncio
import importlib
import json
import os
import sys

from judgeval.instrumentation import JudgevalInstrumentor
from judgeval.tracer import Tracer, wrap
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

target, vendor = sys.argv[1], sys.argv[2]
module_name, class_name = target.split(":")
exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
other = getattr(importlib.import_module(module_name), class_name)()
other.instrument(tracer_provider=provider)
JudgevalInstrumentor().instrument(tracer_provider=provider)
judgment = Tracer(project_name="interop", tracer_provider=provider)
BASE_URL = os.environ["OPENAI_BASE_URL"]
QUESTION = [{"role": "user", "content": "Where is my package?"}]


def openai_calls():
    import openai

    client = wrap(openai.OpenAI(base_url=BASE_URL, api_key="test", max_retries=0), tracer=judgment)
    aclient = wrap(openai.AsyncOpenAI(base_url=BASE_URL, api_key="test", max_retries=0), tracer=judgment)
    chat = {"model": "gpt-replay", "messages": QUESTION}
    yield "chat", lambda: client.chat.completions.create(**chat)
    yield "chat stream", lambda: list(client.chat.completions.create(**chat, stream=True))
    yield "chat raw", lambda: client.chat.completions.with_raw_response.create(**chat).parse()
    yield "chat async", lambda: asyncio.run(aclient.chat.completions.create(**chat))
    yield "responses", lambda: client.responses.create(model="gpt-replay", input="Where is my package?")
    yield "embeddings", lambda: client.embeddings.create(model="embed-replay", input="package")


def anthropic_calls():
    import anthropic

    base_url = BASE_URL.removesuffix("/v1")
    client = wrap(anthropic.Anthropic(base_url=base_url, api_key="test", max_retries=0), tracer=judgment)
    message = {"model": "claude-replay", "max_tokens": 100, "messages": QUESTION}
    yield "messages", lambda: client.messages.create(**message)
    yield "messages stream", lambda: list(client.messages.create(**message, stream=True))
    yield "messages raw", lambda: client.messages.with_raw_response.create(**message).parse()

    def helper():
        with client.messages.stream(**message) as stream:
            return "".join(stream.text_stream)

    yield "messages helper", helper


class SupportAgent:
    id = "support-1"

    @judgment.agent()
    @judgment.observe(span_type="agent")
    def run(self, call):
        return call()


def report(label, call):
    exporter.clear()
    SupportAgent().run(call)
    spans = [
        {"name": s.name, "scope": s.instrumentation_scope.name, "attributes": dict(s.attributes)}
        for s in exporter.get_finished_spans()
        if s.name != "run"
    ]
    print(json.dumps({"call": label, "spans": spans}, default=str), flush=True)


calls = list((openai_calls if vendor == "openai" else anthropic_calls)())
for label, call in calls:
    report(label, call)
# Undone (in reverse order, so no wrapper is left behind) and the package still imported: judgeval looks
# at activeness, not at what is installed, so it traces again.
JudgevalInstrumentor().uninstrument()
other.uninstrument()
JudgevalInstrumentor().instrument(tracer_provider=provider)
report("after uninstrument", next((openai_calls if vendor == "openai" else anthropic_calls)())[1])
