"""The evaluator's own metrics, on a private ``MeterProvider`` (never the global one).

Metrics leave the process only when a metrics endpoint is configured (``--metrics-endpoint`` or
``OTEL_EXPORTER_OTLP_METRICS_ENDPOINT``) or a reader is passed in; with neither, nothing is recorded. The
evaluator creates no tracer at all, and its judge and embedding clients are never wrapped (and call with
instrumentation suppressed), so nothing it does can be exported back into its own queue and scored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from judgeval import semconv
from opentelemetry.context import Context
from opentelemetry.metrics import CallbackOptions, NoOpMeterProvider, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource

METER_NAME = "evaluator_service"


class EvaluatorMetrics:
    """Counters, histograms and gauges describing the evaluator's work."""

    def __init__(self, provider: MeterProvider, *, recording: bool = True) -> None:
        self.provider = provider
        self.recording = recording
        # Nothing reads a provider without readers: record into no-op instruments instead of paying the
        # SDK's per-measurement work (several microseconds per scored span) for nothing.
        meter = provider.get_meter(METER_NAME) if recording else NoOpMeterProvider().get_meter(METER_NAME)
        self._accepted = meter.create_counter(semconv.METRIC_SPANS_ACCEPTED, "{span}",
                                              "Spans durably accepted by Export")
        self._rejected = meter.create_counter(semconv.METRIC_SPANS_REJECTED, "{span}",
                                              "Spans refused (queue full or invalid ids)")
        self._not_selected = meter.create_counter(semconv.METRIC_SPANS_NOT_SELECTED, "{span}",
                                                  "Accepted spans that asked for nothing and no rule "
                                                  "selected (exported marked not_selected)")
        self._forwarded = meter.create_counter(semconv.METRIC_SPANS_EXPORTED, "{span}",
                                               "Spans acknowledged by the downstream")
        self._dropped = meter.create_counter(semconv.METRIC_SPANS_DROPPED, "{span}",
                                             "Spans the downstream permanently refused")
        self._dead_lettered = meter.create_counter(
            semconv.METRIC_SPANS_DEAD_LETTERED, "{span}",
            "Spans the pipeline could not handle as asked, by stage and outcome")
        self._duplicates = meter.create_counter(semconv.METRIC_SPANS_DUPLICATES, "{span}",
                                                "Spans to score accepted before (a retried export): "
                                                "answered OK, not scored again")
        self._scored = meter.create_counter(semconv.METRIC_SPANS_SCORED, "{span}",
                                            "Tagged spans processed, by final eval status")
        self._errors = meter.create_counter(semconv.METRIC_SCORING_ERRORS, "{error}",
                                            "Scoring attempts that produced no score, by kind")
        self._latency = meter.create_histogram(semconv.METRIC_SCORING_DURATION, "s",
                                               "Time to score one request, retries included")
        self._scores = meter.create_histogram(
            semconv.METRIC_SCORE_VALUE, "1", "Score values per scorer, service and agent",
            explicit_bucket_boundaries_advisory=semconv.SCORE_VALUE_BUCKET_BOUNDARIES)
        self._outcomes = meter.create_counter(semconv.METRIC_SCORE_OUTCOMES, "{result}",
                                              "Evaluation results per scorer, service, agent and outcome "
                                              "(passed, failed, error)")
        self._alerts_fired = meter.create_counter(semconv.METRIC_ALERTS_FIRED, "{notification}",
                                                  "Alert firing notifications, by alert name")
        self._behaviors_assigned = meter.create_counter(semconv.METRIC_BEHAVIORS_ASSIGNED, "{span}",
                                                        "Failing spans assigned to a behavior, by behavior")
        self._behaviors_discovered = meter.create_counter(semconv.METRIC_BEHAVIORS_DISCOVERED, "{behavior}",
                                                          "New behaviors discovered, by scorer")
        self._behaviors_errors = meter.create_counter(semconv.METRIC_BEHAVIORS_ERRORS, "{span}",
                                                      "Failing spans exported without a behavior, by kind")
        self._sandbox_llm_calls = meter.create_counter(
            semconv.METRIC_SANDBOX_LLM_CALLS, "{call}",
            "Uploaded scorers' own calls through the sandbox egress proxy, by scorer and outcome")
        self._behaviors_events = meter.create_counter(semconv.METRIC_BEHAVIORS_EVENTS, "{event}",
                                                      "Behavior lifecycle events logged, by kind")
        self.queue_depth: Callable[[], int] = lambda: 0
        self.paused_count: Callable[[], int] = lambda: 0
        meter.create_observable_gauge(semconv.METRIC_QUEUE_DEPTH, [self._observe_queue], "{span}",
                                      "Spans in the durable queue")
        meter.create_observable_gauge(semconv.METRIC_SCORERS_PAUSED, [self._observe_paused],
                                      "{scorer}", "Scorers currently paused")

    @classmethod
    def create(cls, endpoint: str | None, readers: Sequence[MetricReader] = ()) -> EvaluatorMetrics:
        """A private provider exporting to ``endpoint`` over OTLP/gRPC (if given) and to ``readers``."""
        all_readers = list(readers)
        if endpoint:
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

            exporter = OTLPMetricExporter(endpoint=endpoint, insecure=True)
            all_readers.append(PeriodicExportingMetricReader(exporter))
        resource = Resource.create({"service.name": "judgeval-evaluator"})
        return cls(MeterProvider(metric_readers=all_readers, resource=resource), recording=bool(all_readers))

    def shutdown(self) -> None:
        self.provider.shutdown()

    def accepted(self, count: int) -> None:
        self._accepted.add(count)

    def not_selected(self, count: int) -> None:
        self._not_selected.add(count)

    def rejected(self, count: int, reason: str) -> None:
        self._rejected.add(count, {"reason": reason})

    def forwarded(self, count: int) -> None:
        self._forwarded.add(count)

    def dropped(self, count: int, reason: str) -> None:
        self._dropped.add(count, {"reason": reason})

    def dead_lettered(self, stage: str, outcome: str, count: int = 1) -> None:
        self._dead_lettered.add(count, {"stage": stage, "outcome": outcome})

    def duplicates(self, count: int) -> None:
        self._duplicates.add(count)

    def span_scored(self, status: str, count: int = 1) -> None:
        self._scored.add(count, {"status": status})

    def sandbox_llm_call(self, scorer: str, outcome: str) -> None:
        """One call (or refused attempt) of an uploaded scorer through the sandbox's egress proxy."""
        self._sandbox_llm_calls.add(1, {semconv.SCORE_METRIC_LABEL_SCORER: scorer,
                                        semconv.SCORE_METRIC_LABEL_OUTCOME: outcome})

    def scoring_error(self, scorer: str, kind: str) -> None:
        self._errors.add(1, {"scorer": scorer, "kind": kind})

    def scoring_finished(self, scorer: str, seconds: float) -> None:
        self._latency.record(seconds, {semconv.SCORE_METRIC_LABEL_SCORER: scorer})

    def score_recorded(
        self, labels: Mapping[str, str], outcome: semconv.ScoreOutcomeLabel, value: float | None,
        context: Context | None = None,
    ) -> None:
        """One evaluation result of a span (see :mod:`evaluator_service.score_metrics`). ``context`` holds
        the scored span's ids, so the SDK attaches them as an exemplar."""
        if value is not None:
            self._scores.record(value, labels, context=context)
        self._outcomes.add(1, {**labels, semconv.SCORE_METRIC_LABEL_OUTCOME: outcome.value}, context=context)

    def alert_fired(self, alert: str) -> None:
        self._alerts_fired.add(1, {"alert": alert})

    def behavior_assigned(self, behavior_id: str, scorer: str, new: bool) -> None:
        self._behaviors_assigned.add(1, {"behavior": behavior_id, "scorer": scorer})
        if new:
            self._behaviors_discovered.add(1, {"scorer": scorer})

    def behavior_error(self, kind: str) -> None:
        self._behaviors_errors.add(1, {"kind": kind})

    def behavior_event(self, kind: str) -> None:
        self._behaviors_events.add(1, {"kind": kind})

    def _observe_queue(self, options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(self.queue_depth())]

    def _observe_paused(self, options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(self.paused_count())]
