"""How ``JUDGEVAL_OPENAI_SPANS=auto`` tells another instrumentation is active: an instrumentor's own flag
for the package it declares, or another package's ``wrapt`` wrapper on the client method."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any

import openai
import pytest
import wrapt
from judgeval import environment_variables, semconv
from judgeval.instrumentation import JudgevalInstrumentor
from judgeval.testing import RecordedOpenAIServer
from judgeval.tracer import Tracer, wrap
from judgeval.tracer._coexistence import active_instrumentors, defer_to_other_instrumentation
from openai.resources.chat.completions import Completions
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.instrumentation.utils import unwrap
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

QUESTION = [{"role": "user", "content": "hi"}]
OTHER_SCOPE = "another.openai.tracer"


class DeclaredInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """An instrumentor that patches nothing and declares the packages it is given: only its flag counts."""

    dependencies: tuple[str, ...] = ()

    def instrumentation_dependencies(self) -> Collection[str]:
        return self.dependencies

    def _instrument(self, **kwargs: Any) -> None:
        pass

    def _uninstrument(self, **kwargs: Any) -> None:
        pass


class AnthropicTracer(DeclaredInstrumentor):
    dependencies = ("anthropic >= 0.3",)


class AgentsTracer(DeclaredInstrumentor):
    dependencies = ("openai-agents >= 0.1",)  # a different package, though its name starts with openai


@pytest.mark.parametrize(
    ("instrumentor", "package", "defers"),
    [(AnthropicTracer, "anthropic", True), (AgentsTracer, "openai", False)],
)
def test_an_instrumentor_counts_while_active_for_the_package_it_declares(
    instrumentor: type[DeclaredInstrumentor], package: str, defers: bool
):
    provider = {
        "openai": semconv.GenAiProviderName.OPENAI,
        "anthropic": semconv.GenAiProviderName.ANTHROPIC,
    }[package]
    instance = instrumentor()
    assert not active_instrumentors(package)
    instance.instrument()
    try:
        assert bool(active_instrumentors(package)) is defers
        assert defer_to_other_instrumentation(provider) is defers
    finally:
        instance.uninstrument()
    assert not active_instrumentors(package)
    assert not defer_to_other_instrumentation(provider)


@pytest.fixture
def other_tracer(provider: TracerProvider) -> Iterator[None]:
    """A tracer that is no ``BaseInstrumentor``: a ``wrapt`` wrapper on ``Completions.create``."""
    tracer = provider.get_tracer(OTHER_SCOPE)

    def traced(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        with tracer.start_as_current_span("other chat"):
            return wrapped(*args, **kwargs)

    wrapt.wrap_function_wrapper("openai.resources.chat.completions", "Completions.create", traced)
    yield
    unwrap(Completions, "create")


def _scopes(exporter: InMemorySpanExporter) -> list[str]:
    return [span.instrumentation_scope.name for span in exporter.get_finished_spans()]


def test_another_wrapper_on_the_method_owns_the_span(
    other_tracer: None, provider: TracerProvider, exporter: InMemorySpanExporter, llm: RecordedOpenAIServer
):
    client = wrap(
        openai.OpenAI(base_url=llm.base_url, api_key="test", max_retries=0),
        tracer=Tracer(project_name="detection", tracer_provider=provider),
    )
    client.chat.completions.create(model="m", messages=QUESTION)
    client.chat.completions.with_raw_response.create(model="m", messages=QUESTION).parse()
    assert _scopes(exporter) == [OTHER_SCOPE, OTHER_SCOPE]


def test_judgeval_instrumentor_above_another_wrapper_defers_to_it(
    other_tracer: None,
    instrumented: JudgevalInstrumentor,
    exporter: InMemorySpanExporter,
    llm: RecordedOpenAIServer,
):
    openai.OpenAI(base_url=llm.base_url, api_key="test", max_retries=0).chat.completions.create(
        model="m", messages=QUESTION
    )
    assert _scopes(exporter) == [OTHER_SCOPE]


def test_judgeval_mode_traces_next_to_another_wrapper(
    other_tracer: None,
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
    llm: RecordedOpenAIServer,
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setenv(environment_variables.JUDGEVAL_OPENAI_SPANS, "judgeval")
    client = wrap(
        openai.OpenAI(base_url=llm.base_url, api_key="test", max_retries=0),
        tracer=Tracer(project_name="detection", tracer_provider=provider),
    )
    client.chat.completions.create(model="m", messages=QUESTION)
    assert sorted(_scopes(exporter)) == sorted([OTHER_SCOPE, "judgeval"])
