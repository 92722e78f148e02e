"""What the LLM-client tests (``wrap(OpenAI())``, ``wrap(Anthropic())``) read off their finished spans.

Shared by the raw-response, streaming, structured-output and Anthropic suites, which used to carry a copy
each: the one span a call made, its attributes without the per-call response id, a resource of a client
by its dotted path, and the same call made plainly as the reference to compare with.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from judgeval import semconv
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


def only_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    """The exporter's one finished span (fails when there are none or several)."""
    (span,) = exporter.get_finished_spans()
    return span


def answer_attributes(span: ReadableSpan) -> dict[str, Any]:
    """The span's attributes but the response id, which the recorded server makes anew per call."""
    return {k: v for k, v in (span.attributes or {}).items() if k != semconv.GEN_AI_RESPONSE_ID}


def json_attribute(span: ReadableSpan, key: str) -> Any:
    """A JSON-encoded attribute of the span (e.g. ``gen_ai.output.messages``), decoded."""
    return json.loads(str((span.attributes or {})[key]))


def client_resource(client: Any, path: str) -> Any:
    """``client.chat.completions`` for ``"chat.completions"``."""
    for name in path.split("."):
        client = getattr(client, name)
    return client


def plain_answer(exporter: InMemorySpanExporter, create: Callable[..., Any], **kwargs: Any) -> dict[str, Any]:
    """The span attributes of ``create(**kwargs)`` made plainly (the reference), then forgotten; a stream
    is read to its end first."""
    result = create(**kwargs)
    if kwargs.get("stream"):
        list(result)
    span = only_span(exporter)
    exporter.clear()
    return answer_attributes(span)


def output_messages(span: ReadableSpan) -> Any:
    """The span's ``gen_ai.output.messages``, decoded."""
    return json_attribute(span, semconv.GEN_AI_OUTPUT_MESSAGES)
