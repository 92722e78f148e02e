"""The ``console_data:`` config section: how the evaluator records what the console reads, and how long.

Defaults, and why:

* ``flush_interval_s: 5`` — counters are summed in memory and added to the state database this often, one
  transaction per flush whatever the traffic; the console lags by at most this much.
* ``minute_retention_s: 172800`` (2 days) — minute rollups answer "this hour" and "today"; older ranges
  read the hour rollups, kept ``hour_retention_s: 7776000`` (90 days).
* ``failing_max_age_s: 604800`` (7 days), ``failing_max_rows: 10000`` — the failing-interaction list keeps a
  week, and never more than this many rows (the oldest go first).
* ``not_evaluated_max_age_s: 604800``, ``not_evaluated_max_samples: 1000`` — the same for the sample of
  spans that got no score (their counts are rollups, kept like them).
* ``max_pending: 20000`` — failing interactions and samples held in memory between flushes (while the
  database is unreachable too); beyond it they are not kept, logged and counted in
  :attr:`~evaluator_service.console.recorder.ConsoleRecorder.dropped` (the counters still count them).
* ``prune_interval_s: 300`` — how often a replica applies the retention.
* ``max_field_chars: 8192`` — each string of a stored example (and the reason) is cut to this many
  characters, saying how many more there were: a span holding a whole document stays a readable row.
* ``max_rollup_keys: 20000`` — distinct (bucket, scorer, agent, service, environment) keys one flush
  interval may add; beyond it (spans inventing a new agent name each) results are counted under
  ``(other)``, logged, never lost.
"""

from __future__ import annotations

from dataclasses import dataclass

from evaluator_service.config_values import ConfigError, Section

SECTION_KEYS = frozenset({
    "enabled", "flush_interval_s", "minute_retention_s", "hour_retention_s", "failing_max_age_s",
    "failing_max_rows", "not_evaluated_max_age_s", "not_evaluated_max_samples", "max_pending",
    "prune_interval_s", "max_field_chars", "max_rollup_keys",
})

MINUTE = 60
HOUR = 3600
GRANULARITIES = (MINUTE, HOUR)
"""Every delta is written at both granularities (seconds per bucket)."""


@dataclass(frozen=True)
class ConsoleDataConfig:
    """What the evaluator records for the console (YAML ``console_data:``)."""

    enabled: bool = True
    flush_interval_s: float = 5.0
    minute_retention_s: float = 2 * 24 * HOUR
    hour_retention_s: float = 90 * 24 * HOUR
    failing_max_age_s: float = 7 * 24 * HOUR
    failing_max_rows: int = 10_000
    not_evaluated_max_age_s: float = 7 * 24 * HOUR
    not_evaluated_max_samples: int = 1_000
    max_pending: int = 20_000
    prune_interval_s: float = 300.0
    max_field_chars: int = 8192
    max_rollup_keys: int = 20_000

    def retention_of(self, granularity: int) -> float:
        """How long rollups of ``granularity`` seconds are kept."""
        return self.minute_retention_s if granularity == MINUTE else self.hour_retention_s


def parse_console_data(s: Section) -> ConsoleDataConfig:
    s.reject_unknown(SECTION_KEYS)
    d = ConsoleDataConfig()
    enabled = s.data.get("enabled", d.enabled)
    if not isinstance(enabled, bool):
        raise ConfigError(f"{s.where('enabled')}: must be true or false, got {enabled!r}")
    config = ConsoleDataConfig(
        enabled=enabled,
        flush_interval_s=s.number("flush_interval_s", d.flush_interval_s, strict=True),
        minute_retention_s=s.number("minute_retention_s", d.minute_retention_s, minimum=MINUTE),
        hour_retention_s=s.number("hour_retention_s", d.hour_retention_s, minimum=HOUR),
        failing_max_age_s=s.number("failing_max_age_s", d.failing_max_age_s, strict=True),
        failing_max_rows=s.integer("failing_max_rows", d.failing_max_rows, minimum=1),
        not_evaluated_max_age_s=s.number("not_evaluated_max_age_s", d.not_evaluated_max_age_s, strict=True),
        not_evaluated_max_samples=s.integer("not_evaluated_max_samples", d.not_evaluated_max_samples,
                                            minimum=1),
        max_pending=s.integer("max_pending", d.max_pending, minimum=1),
        prune_interval_s=s.number("prune_interval_s", d.prune_interval_s, strict=True),
        max_field_chars=s.integer("max_field_chars", d.max_field_chars, minimum=64),
        max_rollup_keys=s.integer("max_rollup_keys", d.max_rollup_keys, minimum=100),
    )
    if config.hour_retention_s < config.minute_retention_s:
        raise ConfigError(f"{s.where('hour_retention_s')}: must be >= minute_retention_s "
                          f"({config.minute_retention_s:g}), got {config.hour_retention_s:g}")
    return config
