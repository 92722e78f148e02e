"""Deliver one notification to one channel: bounded retries with backoff behind a per-target circuit breaker.

The alert engine calls :meth:`ChannelDelivery.deliver` from its sender task (never the scoring path) and
owns durability: a notification not delivered now (``False``) stays in its outbox and is handed back later.
Every try — and every refusal by an open circuit — is reported through ``record`` as a
:class:`DeliveryAttempt`, so the history shows exactly what happened; a circuit's state change is also logged
once and counted (``judgeval.alerts.circuit.transitions``). A refusal by an open circuit carries the time to
the next probe as its ``retry_after_s``, so the outbox keeps the notification until then.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable

from opentelemetry.metrics import Meter

from evaluator_service.alerts.channels.breaker import CircuitBreaker, CircuitSnapshot, CircuitState
from evaluator_service.alerts.channels.delivery_metrics import DeliveryMetrics, DeliveryOutcome
from evaluator_service.alerts.channels.policy import DeliveryPolicy
from evaluator_service.alerts.notification import AlertNotification, Channel, DeliveryAttempt

logger = logging.getLogger(__name__)

MIN_LEASE_S = 120.0
"""The outbox lease when every channel's deliveries are short (a crashed replica's rows wait this long)."""
LEASE_MARGIN_S = 30.0
"""Added to the longest delivery: storing the attempts and the outcome takes time too."""

Recorder = Callable[[DeliveryAttempt], Awaitable[None]]
"""Stores one attempt (the engine's delivery history); awaited once per try, errors propagate."""


class ChannelDelivery:
    """Retries and circuit breakers for every channel; one instance per alert engine.

    A channel's :class:`DeliveryPolicy` is its ``policy`` attribute (every channel built from the
    ``channels:`` section has one), else ``default_policy``. ``clock`` and ``sleep`` are injectable so tests
    drive cool-downs and backoff without waiting.
    """

    def __init__(self, *, default_policy: DeliveryPolicy | None = None, meter: Meter | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.default_policy = default_policy or DeliveryPolicy()
        self._clock = clock
        self._sleep = sleep
        self._breakers: dict[str, CircuitBreaker] = {}
        self._metrics = DeliveryMetrics(meter, lambda: self._breakers)

    def circuit_state(self, channel: str) -> CircuitState:
        """The circuit state of the channel named ``channel`` (``closed`` before its first try)."""
        breaker = self._breakers.get(channel)
        return breaker.state if breaker else CircuitState.CLOSED

    def circuit(self, channel: Channel) -> CircuitSnapshot:
        """The circuit of ``channel`` (closed, with its policy's threshold, before its first try)."""
        breaker = self._breakers.get(channel.name)
        if breaker is None:
            return CircuitSnapshot(CircuitState.CLOSED, 0, self._policy(channel).breaker_failures)
        return breaker.snapshot()

    async def deliver(self, notification: AlertNotification, channel: Channel, record: Recorder) -> bool:
        """Try up to ``policy.attempts`` times; ``True`` once the channel accepted the notification.

        Stops early on a failure the receiver will repeat (``retryable=False``: a 4xx other than 408/429, a
        rejected recipient), and when the circuit is (or becomes) open.
        """
        policy = self._policy(channel)
        breaker = self._breaker(channel.name, policy)
        for number in range(1, policy.attempts + 1):
            admission = breaker.admit()
            if not admission.allowed:
                await self._refused(channel.name, breaker, admission.retry_in_s, record)
                return False
            if admission.probe:
                self._changed(channel.name, breaker, CircuitState.HALF_OPEN)
            try:
                attempt = await self._try(notification, channel, policy)
            except BaseException:
                breaker.abandon()
                raise
            changed = breaker.record(attempt.ok, attempt.detail)
            self._metrics.attempt(channel.name, DeliveryOutcome.DELIVERED if attempt.ok
                                  else DeliveryOutcome.FAILED)
            if changed is not None:
                self._changed(channel.name, breaker, changed)
            await record(attempt)
            if attempt.ok:
                return True
            if not attempt.retryable or breaker.state is not CircuitState.CLOSED:
                break
            if number < policy.attempts:
                wait = max(policy.backoff_s(number), attempt.retry_after_s or 0.0)
                if wait > policy.max_backoff_s:
                    break  # the receiver asked for a longer pause than we wait here: the engine asks later
                await self._sleep(wait)
        logger.warning("alert %r (%s) not delivered to %s: %s", notification.alert, notification.kind.value,
                       channel.name, attempt.detail)
        return False

    async def _try(self, notification: AlertNotification, channel: Channel, policy: DeliveryPolicy
                   ) -> DeliveryAttempt:
        # The channel enforces its own timeout; this one also bounds a receiver that trickles bytes, and a
        # channel that raises despite its contract still yields an attempt, never a lost notification.
        try:
            return await asyncio.wait_for(channel.send(notification), policy.timeout_s)
        except TimeoutError:
            return DeliveryAttempt(channel.name, False, f"timed out after {policy.timeout_s:g}s")
        except Exception as exc:
            logger.exception("alert channel %s raised instead of reporting a failed attempt", channel.name)
            return DeliveryAttempt(channel.name, False, f"channel error: {type(exc).__name__}")

    async def _refused(self, name: str, breaker: CircuitBreaker, retry_in_s: float, record: Recorder) -> None:
        self._metrics.attempt(name, DeliveryOutcome.CIRCUIT_OPEN)
        if breaker.state is CircuitState.HALF_OPEN:
            detail = (f"not sent: circuit half-open after {breaker.consecutive_failures} consecutive failed "
                      "attempts; a probe is in flight")
            await record(DeliveryAttempt(name, False, detail))
            return
        detail = (f"not sent: circuit open after {breaker.consecutive_failures} consecutive failed "
                  f"attempts (last: {breaker.last_failure}); next probe in {retry_in_s:.0f}s")
        # retry_after_s: the outbox asks again when the probe may go, not sooner (each early ask would only
        # be refused again and fill the history with refusals)
        await record(DeliveryAttempt(name, False, detail, retry_after_s=retry_in_s))

    def _changed(self, name: str, breaker: CircuitBreaker, state: CircuitState) -> None:
        self._metrics.transition(name, state)
        if state is CircuitState.OPEN:
            logger.error("alert channel %s: circuit open after %d consecutive failed attempts (last: %s); "
                         "deliveries paused for %gs, then one probe", name, breaker.consecutive_failures,
                         breaker.last_failure, breaker.cooldown_s)
        elif state is CircuitState.HALF_OPEN:
            logger.info("alert channel %s: circuit half-open, sending one probe", name)
        else:
            logger.warning("alert channel %s: circuit closed, deliveries resume", name)

    def _policy(self, channel: Channel) -> DeliveryPolicy:
        policy = getattr(channel, "policy", None)
        return policy if isinstance(policy, DeliveryPolicy) else self.default_policy

    def lease_s(self, channels: Iterable[Channel]) -> float:
        """How long an outbox row must stay leased to the replica delivering it: longer than the longest
        delivery to any of ``channels`` (at least :data:`MIN_LEASE_S`), so no other replica leases and sends
        it again while this one is still retrying."""
        longest = max((self._policy(c).longest_delivery_s() for c in channels), default=0.0)
        return max(MIN_LEASE_S, longest + LEASE_MARGIN_S)

    def _breaker(self, name: str, policy: DeliveryPolicy) -> CircuitBreaker:
        breaker = self._breakers.get(name)
        if breaker is None:
            breaker = CircuitBreaker(policy.breaker_failures, policy.breaker_cooldown_s, self._clock)
            self._breakers[name] = breaker
        return breaker
