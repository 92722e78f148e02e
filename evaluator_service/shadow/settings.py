"""The ``shadow:`` section of the evaluator config: how scorer versions in shadow are run and kept.

::

    shadow:
      sample_rate: 1.0         # share of production results scored again in shadow, chosen by trace id
                               # (the rest are counted skipped_sampled); lower it for costly LLM judges
      max_queue: 1000          # interactions waiting for their shadow scoring; when full, new ones are
                               # skipped and counted (judgeval.evaluator.shadow.outcomes, skipped_overload)
      concurrency: 2           # shadow scorings running at once (sandbox workers they may keep busy)
      timeout_s: 60            # per shadow scoring; a timeout is stored as an error of the shadow version
      retention: 168h          # results older than this (7 days) are deleted ...
      max_results: 100000      # ... and never more than this many are kept (the oldest go first)
      flush_interval_s: 1.0    # results are written in batches at most this long after they are produced
      prune_interval: 5m       # how often old results are deleted

Shadow scoring runs off the scoring path: it never delays a span, and its results never reach spans,
alerts or behaviors.
"""

from __future__ import annotations

from dataclasses import dataclass

from evaluator_service.config_values import ConfigError, Section, parse_duration


@dataclass(frozen=True)
class ShadowConfig:
    """Bounds of shadow scoring (see the module docstring)."""

    sample_rate: float = 1.0
    max_queue: int = 1000
    concurrency: int = 2
    timeout_s: float = 60.0
    retention_s: float = 7 * 86400.0
    max_results: int = 100_000
    flush_interval_s: float = 1.0
    prune_interval_s: float = 300.0


_KEYS = frozenset({"sample_rate", "max_queue", "concurrency", "timeout_s", "retention", "max_results",
                   "flush_interval_s", "prune_interval"})


def parse_shadow(s: Section) -> ShadowConfig:
    """Validate the ``shadow:`` section (absent: the defaults)."""
    s.reject_unknown(_KEYS)
    d = ShadowConfig()
    sample_rate = s.number("sample_rate", d.sample_rate, minimum=0, strict=True)
    if sample_rate > 1:
        raise ConfigError(f"{s.where('sample_rate')}: must be at most 1, got {sample_rate:g}")
    return ShadowConfig(
        sample_rate=sample_rate,
        max_queue=s.integer("max_queue", d.max_queue, minimum=1),
        concurrency=s.integer("concurrency", d.concurrency, minimum=1),
        timeout_s=s.number("timeout_s", d.timeout_s, minimum=0, strict=True),
        retention_s=parse_duration(s.data.get("retention", d.retention_s), s.where("retention")),
        max_results=s.integer("max_results", d.max_results, minimum=1),
        flush_interval_s=s.number("flush_interval_s", d.flush_interval_s, minimum=0, strict=True),
        prune_interval_s=parse_duration(s.data.get("prune_interval", d.prune_interval_s),
                                        s.where("prune_interval")),
    )
