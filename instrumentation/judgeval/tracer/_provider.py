"""Finding or creating the TracerProvider a Tracer uses, and installing our span processors once on it.

If the application (or ``opentelemetry-instrument``) already installed an SDK ``TracerProvider`` globally,
it is reused as-is: we add our processors but no exporter, because the app already chose where spans go.
Otherwise we create one with the exporters ``OTEL_TRACES_EXPORTER`` names (OTLP by default: gRPC, or
``http/protobuf`` if the standard ``OTEL_EXPORTER_OTLP_*PROTOCOL`` variables say so; see
:mod:`judgeval.tracer._exporters`) and install it globally so other instrumentations nest.

Process exit is bounded: our batch processor gives up after a few seconds on an unreachable collector
instead of retrying for the exporter's full timeout.

Pre-fork servers (gunicorn, uwsgi): the SDK's batch processor registers ``os.register_at_fork`` and
re-creates its export thread in each child, so a Tracer created in the master keeps exporting from
the forked processes. The local-scoring executor is re-created lazily in the child for the same reason.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from dataclasses import dataclass, field

from opentelemetry import trace
from opentelemetry.sdk.environment_variables import OTEL_BSP_MAX_QUEUE_SIZE, OTEL_BSP_SCHEDULE_DELAY
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider, sampling
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from judgeval import semconv
from judgeval.tracer._agent import AgentAttributionSpanProcessor
from judgeval.tracer._exporters import configured_exporters

logger = logging.getLogger("judgeval")

SHUTDOWN_TIMEOUT_MILLIS = 4000
"""How long process exit waits for the last export before giving up."""

DEFAULT_BSP_MAX_QUEUE_SIZE = 8192
"""Queue of the batch processor judgeval creates, unless ``OTEL_BSP_MAX_QUEUE_SIZE`` is set."""
DEFAULT_BSP_SCHEDULE_DELAY_MILLIS = 1000
"""Export delay of the batch processor judgeval creates, unless ``OTEL_BSP_SCHEDULE_DELAY`` is set."""



class BoundedBatchSpanProcessor(BatchSpanProcessor):
    """A ``BatchSpanProcessor`` whose shutdown (run at process exit) is bounded to a few seconds.

    The SDK calls ``shutdown()`` at exit and waits up to 30 s while the gRPC exporter retries an
    unreachable endpoint. Here the stock shutdown runs on a daemon thread; past the bound the exporter is
    shut down, which interrupts its retries, and the interpreter is free to exit.
    """

    def __init__(
        self,
        exporter: SpanExporter,
        shutdown_timeout_millis: int = SHUTDOWN_TIMEOUT_MILLIS,
        max_queue_size: int | None = None,
        schedule_delay_millis: float | None = None,
    ) -> None:
        super().__init__(exporter, max_queue_size=max_queue_size, schedule_delay_millis=schedule_delay_millis)
        self._owned_exporter = exporter
        self._shutdown_timeout_seconds = shutdown_timeout_millis / 1000

    def shutdown(self) -> None:
        stock_shutdown = threading.Thread(
            target=super().shutdown, name="judgeval-exporter-shutdown", daemon=True
        )
        stock_shutdown.start()
        stock_shutdown.join(self._shutdown_timeout_seconds)
        if stock_shutdown.is_alive():
            logger.warning(
                "judgeval gave up exporting the last spans after %.1fs (collector unreachable?)",
                self._shutdown_timeout_seconds,
            )
            self._owned_exporter.shutdown()
            stock_shutdown.join(1.0)


# Samplers under which a span is recorded whenever its parent is sampled or absent: with these, a call's
# input can be serialized before its span starts (and passed to ``start_span`` in one go).
_PARENT_DECIDES_SAMPLERS = frozenset(
    {sampling.ALWAYS_ON.get_description(), sampling.ParentBased(sampling.ALWAYS_ON).get_description()}
)


@dataclass
class ProviderState:
    """What judgeval installed on one provider (one entry per provider, however many Tracers use it)."""

    provider: TracerProvider
    created_by_judgeval: bool
    lock: threading.Lock = field(default_factory=threading.Lock)
    local_scoring: object | None = None  # a LocalScoringExecutor, created on first use
    local_trajectories: object | None = None  # a LocalTrajectorySpanProcessor, added on first use
    sessions: object | None = None  # a SessionSpanProcessor, added on first use
    logger_provider: object | None = None  # the SDK LoggerProvider judgeval created, if it did
    projects: set[str] = field(default_factory=set)
    mixed_projects: bool = False  # Tracers of more than one project use this provider

    @property
    def resource_project(self) -> object:
        """The project the provider's resource names, if any."""
        return self.provider.resource.attributes.get(semconv.JUDGEVAL_PROJECT_NAME)

    @property
    def parent_decides_sampling(self) -> bool:
        """True if every span whose parent is sampled (or that has none) is recorded."""
        return self.provider.sampler.get_description() in _PARENT_DECIDES_SAMPLERS

    def add_project(self, project_name: str) -> None:
        """Note that a Tracer of ``project_name`` uses this provider."""
        with self.lock:
            self.projects.add(project_name)
            if len(self.projects) > 1:
                self.mixed_projects = True


_states: weakref.WeakKeyDictionary[TracerProvider, ProviderState] = weakref.WeakKeyDictionary()
_states_lock = threading.Lock()


def build_resource(project_name: str) -> Resource:
    """Resource with the project name; ``service.name`` defaults to it unless ``OTEL_*`` env sets one."""
    resource = Resource.create({semconv.JUDGEVAL_PROJECT_NAME: project_name})
    service = str(resource.attributes.get(SERVICE_NAME, ""))
    if not service or service.startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: project_name}))
    return resource


def _env_default(variable: str, default: int) -> int | None:
    """``default`` unless the user set ``variable`` (then ``None``: the SDK reads the variable itself)."""
    return None if os.environ.get(variable, "").strip() else default


def create_batch_processor(exporter: SpanExporter) -> BoundedBatchSpanProcessor:
    """The batch processor of a provider judgeval creates, with judgeval's defaults under the user's env.

    A 2,048-span queue holds 0.2 s at 10,000 spans/s and drops spans when the export thread is briefly
    starved; a 5 s delay keeps a quiet agent's spans from the evaluator for that long (benchmarks/README.md).
    """
    return BoundedBatchSpanProcessor(
        exporter,
        max_queue_size=_env_default(OTEL_BSP_MAX_QUEUE_SIZE, DEFAULT_BSP_MAX_QUEUE_SIZE),
        schedule_delay_millis=_env_default(OTEL_BSP_SCHEDULE_DELAY, DEFAULT_BSP_SCHEDULE_DELAY_MILLIS),
    )


def _register(provider: TracerProvider, created: bool) -> ProviderState:
    with _states_lock:
        state = _states.get(provider)
        if state is None:
            provider.add_span_processor(AgentAttributionSpanProcessor())
            state = ProviderState(provider=provider, created_by_judgeval=created)
            _states[provider] = state
        return state


def _create_global_provider(project_name: str) -> TracerProvider:
    provider = TracerProvider(resource=build_resource(project_name))
    for exporter in configured_exporters():
        provider.add_span_processor(create_batch_processor(exporter))
    trace.set_tracer_provider(provider)
    if trace.get_tracer_provider() is not provider:
        logger.warning(
            "another non-SDK tracer provider is installed globally; judgeval exports its own spans, "
            "but other instrumentations' spans will not nest under them"
        )
    return provider


def resolve_provider(project_name: str, explicit: TracerProvider | None = None) -> ProviderState:
    """The provider state for a new Tracer: explicit > global SDK provider > newly created global one."""
    if explicit is not None:
        state = _register(explicit, created=False)
        state.add_project(project_name)
        return state
    with _states_lock:
        current = trace.get_tracer_provider()
        if isinstance(current, TracerProvider):
            existing: TracerProvider | None = current
        else:
            existing = None
            current = _create_global_provider(project_name)
    state = _register(current, created=existing is None)
    state.add_project(project_name)
    return state
