"""How hard a channel is tried: per-try timeout, retries with exponential backoff, circuit breaker.

::

    timeout: 10s                                   # one try, connection to answer
    retry: {attempts: 4, initial_backoff: 1s, max_backoff: 30s}
    circuit_breaker: {failures: 5, cooldown: 5m}

Every channel of the ``channels:`` section has these keys (all optional); :class:`ChannelDelivery` applies
them. Backoff doubles per retry (1 s, 2 s, 4 s, ...) up to ``max_backoff``.
"""

from __future__ import annotations

from dataclasses import dataclass

from evaluator_service.config_values import ConfigError, Section, parse_duration

POLICY_KEYS = frozenset({"timeout", "retry", "circuit_breaker"})


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """Retry and circuit-breaker settings of one channel."""

    timeout_s: float = 10.0
    attempts: int = 4
    """Tries per delivery (1 = no retry)."""
    initial_backoff_s: float = 1.0
    max_backoff_s: float = 30.0
    breaker_failures: int = 5
    """Consecutive failed tries (across deliveries) that open the circuit."""
    breaker_cooldown_s: float = 300.0
    """How long an open circuit refuses before one half-open probe is let through."""

    def backoff_s(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1 for the first retry)."""
        return min(self.max_backoff_s, self.initial_backoff_s * 2 ** (retry - 1))

    def longest_delivery_s(self) -> float:
        """The longest one delivery can take: every try times out and every backoff is waited (a longer
        ``Retry-After`` ends the delivery instead)."""
        return self.attempts * self.timeout_s + sum(self.backoff_s(n) for n in range(1, self.attempts))


def parse_policy(s: Section) -> DeliveryPolicy:
    """The policy keys of one channel section (the caller rejects unknown keys)."""
    d = DeliveryPolicy()
    retry, breaker = s.section("retry"), s.section("circuit_breaker")
    retry.reject_unknown(frozenset({"attempts", "initial_backoff", "max_backoff"}))
    breaker.reject_unknown(frozenset({"failures", "cooldown"}))
    policy = DeliveryPolicy(
        timeout_s=_duration(s, "timeout", d.timeout_s),
        attempts=retry.integer("attempts", d.attempts, minimum=1),
        initial_backoff_s=_duration(retry, "initial_backoff", d.initial_backoff_s, allow_zero=True),
        max_backoff_s=_duration(retry, "max_backoff", d.max_backoff_s, allow_zero=True),
        breaker_failures=breaker.integer("failures", d.breaker_failures, minimum=1),
        breaker_cooldown_s=_duration(breaker, "cooldown", d.breaker_cooldown_s),
    )
    if policy.max_backoff_s < policy.initial_backoff_s:
        raise ConfigError(f"{retry.where('max_backoff')}: must be >= initial_backoff "
                          f"({policy.initial_backoff_s:g}s), got {policy.max_backoff_s:g}s")
    return policy


def _duration(s: Section, key: str, default: float, *, allow_zero: bool = False) -> float:
    value = s.data.get(key)
    return default if value is None else parse_duration(value, s.where(key), allow_zero=allow_zero)
