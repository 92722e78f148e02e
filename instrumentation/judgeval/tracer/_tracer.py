"""The ``Tracer`` facade: ``observe``, ``agent``, ``async_evaluate``, ``flush``/``shutdown``."""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Callable, Iterator
from typing import Any, TypeVar, overload

from opentelemetry import trace
from opentelemetry._logs import LoggerProvider
from opentelemetry.sdk.trace import SpanLimits, TracerProvider
from opentelemetry.trace import get_current_span

from judgeval._internal_errors import log_internal_error
from judgeval.protocol.sampling import LOW_56_BITS, RANDOMNESS_VALUES, SAMPLING_SPACE
from judgeval.tracer import _evaluate
from judgeval.tracer._config import TracerConfig
from judgeval.tracer._decorators import agent_scope, observe_scope
from judgeval.tracer._evaluate import VALID_EXAMPLE_TYPES, VALID_SCORER_TYPES
from judgeval.tracer._local_scoring import LocalScoringExecutor, LocalScoringJob, ScoringTask
from judgeval.tracer._local_trajectories import LocalTrajectorySpanProcessor
from judgeval.tracer._log_provider import SdkLoggerProvider, ensure_logger_provider
from judgeval.tracer._provider import ProviderState, resolve_provider
from judgeval.tracer._session import mark_current_span, session_context
from judgeval.tracer._trace_scorer_config import TraceScorerConfig
from judgeval.tracer._trajectory_scope import TrajectoryRequester
from judgeval.tracer._trajectory_scoring import trajectory_event_logger
from judgeval.tracer._wrapping import wrap_callable

F = TypeVar("F", bound=Callable[..., Any])
INSTRUMENTATION_NAME = "judgeval"

_latest_tracer: Tracer | None = None


def latest_tracer() -> Tracer | None:
    """The most recently constructed Tracer; ``wrap()`` uses its settings and provider."""
    return _latest_tracer


class Tracer:
    """Traces an agent with OpenTelemetry and requests scores on its spans.

    ``Tracer(project_name="...")`` reuses the global SDK ``TracerProvider`` if the app (or
    ``opentelemetry-instrument``) installed one, adding only judgeval's span processors; otherwise it creates
    one exporting OTLP as configured by the standard ``OTEL_EXPORTER_OTLP_*`` variables and installs it
    globally; the batch processor of a provider it creates defaults to a queue of 8,192 spans and a 1 s
    export delay unless ``OTEL_BSP_MAX_QUEUE_SIZE`` / ``OTEL_BSP_SCHEDULE_DELAY`` are set (then those win).
    Several Tracers in one process share the provider. Settings are resolved once, here:
    explicit argument > environment > default. ``enable_monitoring=False`` or ``JUDGMENT_MONITORING=false``
    makes the decorators return the original function and creates no provider or exporter;
    ``enable_evaluations=False`` or ``JUDGMENT_EVALUATIONS=false`` makes ``async_evaluate`` a no-op.
    ``tracer_provider`` injects a private provider (tests, apps that don't want a global one);
    ``logger_provider`` the OpenTelemetry logger provider local trace scorers emit their
    ``gen_ai.evaluation.result`` log records through (default: the global one).

    Process exit waits at most a few seconds for the last export. In pre-fork servers the SDK restarts its
    export thread in each forked server process; call :meth:`flush` before such a process exits on its own.
    """

    def __init__(
        self,
        project_name: str | None = None,
        enable_monitoring: bool | None = None,
        enable_evaluations: bool | None = None,
        *,
        tracer_provider: TracerProvider | None = None,
        logger_provider: LoggerProvider | None = None,
    ) -> None:
        global _latest_tracer
        self.config = TracerConfig.resolve(project_name, enable_monitoring, enable_evaluations)
        self._evaluating = self.config.monitoring and self.config.evaluations  # read on a hot path
        # The attribute length limit spans get from the standard environment (a limit set in code on the
        # provider is not visible through the SDK's public API).
        try:
            self._attribute_limit: int | None = SpanLimits().max_span_attribute_length
        except ValueError:  # a malformed limit variable: the SDK reports it where it applies limits
            self._attribute_limit = None
        self._logger_provider = logger_provider
        self._state: ProviderState | None = None
        self._otel_tracer: trace.Tracer = trace.NoOpTracer()
        if self.config.monitoring:
            try:
                self._state = resolve_provider(self.config.project_name, tracer_provider)
                self._otel_tracer = self._state.provider.get_tracer(INSTRUMENTATION_NAME)
            except Exception:
                log_internal_error("judgeval could not set up tracing; spans will not be recorded")
        _latest_tracer = self

    @property
    def project_name(self) -> str:
        return self.config.project_name

    @property
    def otel_tracer(self) -> trace.Tracer:
        """The OpenTelemetry tracer this Tracer starts spans with."""
        return self._otel_tracer

    @overload
    def observe(self, func: F, /) -> F: ...
    @overload
    def observe(
        self,
        *,
        span_type: str = "function",
        name: str | None = None,
        scorer_config: TraceScorerConfig | None = None,
    ) -> Callable[[F], F]: ...

    def observe(  # type: ignore[misc]  # mypy cannot relate F in the keyword-only overload
        self,
        func: F | None = None,
        /,
        *,
        span_type: str = "function",
        name: str | None = None,
        scorer_config: TraceScorerConfig | None = None,
    ) -> F | Callable[[F], F]:
        """Trace each call of the decorated function as one span (works as ``@observe`` or ``@observe(...)``).

        Sync and async functions, methods, generators and async generators are supported; a generator's
        span covers its iteration. Arguments (minus ``self``/``cls``) and the return value are recorded as
        size-capped JSON; exceptions are recorded on the span and re-raised unchanged. ``span_type`` is
        recorded as ``judgeval.span.type``; ``tool`` and ``agent`` also set the GenAI operation name.

        ``scorer_config=TraceScorerConfig(scorer=...)`` makes each call's span bound a trajectory (the span
        and every span below it) scored as a whole by the config's trace scorer, sampled deterministically
        from the trace id; ignored when evaluations are disabled.
        """
        trajectory = self._trajectory_requester(scorer_config)

        def decorate(target: F) -> F:
            if not self.config.monitoring:
                return target
            span_name = name or getattr(target, "__name__", None) or "function"
            scope = observe_scope(
                target, self._otel_tracer, self.config, span_name, str(span_type), self._state, trajectory
            )
            return wrap_callable(target, scope)  # type: ignore[return-value]

        if isinstance(func, str):  # @observe("tool"): forgiving, but say how to spell it
            warnings.warn(
                f'use @judgment.observe(span_type="{func}") instead of @judgment.observe("{func}")',
                stacklevel=2,
            )
            span_type, func = func, None
        return decorate(func) if func is not None else decorate

    @overload
    def agent(self, func: F, /) -> F: ...
    @overload
    def agent(self, *, identifier: str | None = None) -> Callable[[F], F]: ...

    def agent(  # type: ignore[misc]  # as for observe
        self, func: F | None = None, /, *, identifier: str | None = None
    ) -> F | Callable[[F], F]:
        """Attribute every span started during the decorated call to the agent (the ``self`` instance).

        Creates no span itself: combine with ``@observe``. Spans started inside — including LLM spans and
        other instrumentations' — get ``gen_ai.agent.name`` (the class name), ``gen_ai.agent.id``
        (``module.Class:<instance id>``, the id read from the attribute named ``identifier``, default
        ``id``, ``agent_id`` or ``name``) and, when called from another agent, that agent's name and id.
        """

        def decorate(target: F) -> F:
            if not self.config.monitoring:
                return target
            return wrap_callable(target, agent_scope(target, identifier))  # type: ignore[return-value]

        return decorate(func) if func is not None else decorate

    def async_evaluate(self, scorer: Any, example: Any, sampling_rate: float = 1.0) -> None:
        """Ask for ``scorer`` to score ``example`` against the current span, without blocking.

        Sampling is deterministic from the trace id: a trace is scored iff its id's random low 56 bits fall
        in the top ``sampling_rate`` fraction of their range (OpenTelemetry's consistent-probability rule).
        Hosted scorers (``server_hosted=True``) tag the span for the evaluator
        service; others run in a background thread and attach their score as a child span. Misuse (wrong
        types, a rate outside [0, 1], no current span) emits a warning and is otherwise ignored.
        """
        if not self._evaluating:
            return
        span = get_current_span()
        trace_id = span.get_span_context().trace_id
        rate_type = type(sampling_rate)
        # The hot case decided without a further call (it is most calls at a low rate, and the budget is a
        # microsecond): a call with known-good types in a trace that is not sampled. Trace id 0 is "no
        # span", which must still warn; a negative rate must still warn. The rest is in _evaluate.
        if (
            trace_id
            and (rate_type is float or rate_type is int)
            and RANDOMNESS_VALUES - (trace_id & LOW_56_BITS) > sampling_rate * SAMPLING_SPACE
            and sampling_rate >= 0.0
            and type(scorer) in VALID_SCORER_TYPES
            and type(example) in VALID_EXAMPLE_TYPES
        ):
            return
        try:
            _evaluate.async_evaluate(
                scorer, example, sampling_rate, self._submit_local, span, self._attribute_limit
            )
        except Exception:
            log_internal_error("judgeval async_evaluate failed; the evaluation was skipped")

    @contextlib.contextmanager
    def session(self, session_id: str) -> Iterator[None]:
        """Mark every span started in the block, and the current span, as part of session ``session_id``.

        Spans get ``gen_ai.conversation.id``, which evaluator ``scope: session`` rules group traces by (each
        turn of a conversation is usually its own trace)::

            with judgment.session(conversation_id):
                agent.run(user_message)
        """
        if not self._use_sessions(session_id):
            yield
            return
        with session_context(session_id):
            yield

    def set_session_id(self, session_id: str) -> None:
        """Set ``gen_ai.conversation.id`` on the current span; spans started below it afterwards inherit it.

        Call it inside a traced function (e.g. once the agent knows which conversation a request belongs
        to); outside any span it does nothing. See :meth:`session` for a block-scoped form.
        """
        self._use_sessions(session_id)

    def _use_sessions(self, session_id: object) -> bool:
        if not self.config.monitoring or self._state is None:
            return False
        return mark_current_span(self._state, session_id)

    def _trajectory_requester(self, scorer_config: object) -> TrajectoryRequester | None:
        if scorer_config is None or not self._evaluating:
            return None
        if not isinstance(scorer_config, TraceScorerConfig):
            warnings.warn(
                f"observe(scorer_config=...) needs a TraceScorerConfig, got {type(scorer_config).__name__}; "
                "the function is traced but not scored (from judgeval.tracer import TraceScorerConfig)",
                _evaluate.JudgevalUsageWarning,
                stacklevel=3,
            )
            return None
        return TrajectoryRequester(scorer_config, self._local_trajectories, self._attribute_limit)

    def _local_trajectories(self) -> LocalTrajectorySpanProcessor | None:
        """The provider's collector of trajectories for local trace scorers, added on first use."""
        state = self._state
        if state is None:
            return None
        with state.lock:
            collector = state.local_trajectories
            if not isinstance(collector, LocalTrajectorySpanProcessor):
                logger_provider = self._logger_provider
                if logger_provider is None and state.created_by_judgeval:
                    state.logger_provider = ensure_logger_provider(state.provider.resource)
                collector = LocalTrajectorySpanProcessor(
                    self._submit_local, trajectory_event_logger(logger_provider)
                )
                state.provider.add_span_processor(collector)
                state.local_trajectories = collector
        return collector

    def _submit_local(self, job: LocalScoringJob | ScoringTask) -> bool:
        state = self._state
        if state is None:
            return False
        with state.lock:
            executor = state.local_scoring
            if not isinstance(executor, LocalScoringExecutor) or executor.pid != os.getpid():
                executor = LocalScoringExecutor(self._otel_tracer)
                state.local_scoring = executor
        return executor.submit(job)

    def flush(self, timeout_millis: int = 5000) -> bool:
        """Finish queued local scores and export buffered spans; True if all done within the timeout."""
        if self._state is None:
            return True
        executor = self._state.local_scoring
        drained = True
        if isinstance(executor, LocalScoringExecutor):
            drained = executor.drain(timeout_millis / 2000)
        logs = self._state.logger_provider
        logs_flushed = logs.force_flush(timeout_millis) if isinstance(logs, SdkLoggerProvider) else True
        return self._state.provider.force_flush(timeout_millis) and drained and logs_flushed

    def shutdown(self, timeout_millis: int = 5000) -> None:
        """Flush, then shut down the provider if this Tracer created it (an app's provider is left alone)."""
        self.flush(timeout_millis)
        if self._state is None:
            return
        executor = self._state.local_scoring
        if isinstance(executor, LocalScoringExecutor):
            executor.close(0)
            self._state.local_scoring = None
        if self._state.created_by_judgeval:
            self._state.provider.shutdown()
