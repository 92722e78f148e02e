"""The channels' own metrics: tries by outcome, circuit-breaker transitions, and which circuits are open."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from judgeval import semconv
from opentelemetry.metrics import CallbackOptions, Meter, NoOpMeterProvider, Observation

from evaluator_service.alerts.channels.breaker import CircuitBreaker, CircuitState

METER_NAME = "evaluator_service.alerts.channels"


class DeliveryOutcome:
    """Values of the ``outcome`` attribute of :data:`~judgeval.semconv.METRIC_ALERTS_DELIVERY_ATTEMPTS`."""

    DELIVERED = "delivered"
    FAILED = "failed"
    CIRCUIT_OPEN = "circuit_open"


class DeliveryMetrics:
    """Instruments on ``meter`` (a no-op meter when none is given)."""

    def __init__(self, meter: Meter | None, breakers: Callable[[], Mapping[str, CircuitBreaker]]) -> None:
        meter = meter or NoOpMeterProvider().get_meter(METER_NAME)
        self._breakers = breakers
        self._attempts = meter.create_counter(
            semconv.METRIC_ALERTS_DELIVERY_ATTEMPTS, "{attempt}",
            "Tries to send an alert notification, by channel and outcome")
        self._transitions = meter.create_counter(
            semconv.METRIC_ALERTS_CIRCUIT_TRANSITIONS, "{transition}",
            "Circuit-breaker state changes of alert channels, by channel and new state")
        meter.create_observable_gauge(
            semconv.METRIC_ALERTS_CIRCUIT_OPEN, [self._observe_open], "1",
            "1 while a channel's circuit breaker is open or half-open, else 0")

    def attempt(self, channel: str, outcome: str) -> None:
        self._attempts.add(1, {semconv.ALERT_METRIC_LABEL_CHANNEL: channel,
                               semconv.ALERT_METRIC_LABEL_OUTCOME: outcome})

    def transition(self, channel: str, state: CircuitState) -> None:
        self._transitions.add(1, {semconv.ALERT_METRIC_LABEL_CHANNEL: channel,
                                  semconv.ALERT_METRIC_LABEL_STATE: state.value})

    def _observe_open(self, options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(0 if breaker.state is CircuitState.CLOSED else 1,
                            {semconv.ALERT_METRIC_LABEL_CHANNEL: name})
                for name, breaker in list(self._breakers().items())]
