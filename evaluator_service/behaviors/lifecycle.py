"""The issue lifecycle of a behavior: ``new → ongoing → (increasing) → resolved → regressed``.

Rules (all times from an injected clock, windows from :class:`~evaluator_service.behaviors.settings.
LifecycleConfig`):

- **new** for ``new_for_s`` after it was first seen, then **ongoing**;
- **increasing** when, over the last ``trend_window_s``, at least ``increase_min_members`` members arrived
  at ``increase_factor`` times its usual rate (members per second over the ``baseline_window_s`` before
  the trend window, counted from when it was first seen); back to **ongoing** when that no longer holds;
- **resolved** when no member arrived for ``resolve_after_intervals`` times its usual interval between
  members (its active time divided by its members), kept between ``resolve_min_s`` and ``resolve_max_s``;
- **regressed** when a member arrives while it is resolved (decided in the write that adds the member, see
  :mod:`evaluator_service.state.behavior_rows`), then **ongoing** again after ``new_for_s``.

Severity follows the members of the baseline window: ``low`` under 10, ``medium`` under 100, ``high``
from 100; an increasing behavior is one step higher (``critical`` at most); a resolved one is ``low``.
"""

from __future__ import annotations

from evaluator_service.behaviors.events import BehaviorEventKind
from evaluator_service.behaviors.settings import LifecycleConfig
from evaluator_service.state.behavior_issue_rows import BucketCounts, LifecycleChange, LifecycleDecider
from evaluator_service.state.behavior_records import (
    SEVERITIES,
    STATE_INCREASING,
    STATE_NEW,
    STATE_ONGOING,
    STATE_REGRESSED,
    STATE_RESOLVED,
    StoredBehavior,
)
from evaluator_service.state.behavior_rows import BUCKET_S, bucket_of

MEDIUM_MEMBERS = 10
HIGH_MEMBERS = 100


def lifecycle_decider(config: LifecycleConfig) -> LifecycleDecider:
    """The :data:`LifecycleDecider` the state's lifecycle pass calls for each live behavior."""

    def decide(b: StoredBehavior, buckets: BucketCounts, now: float) -> LifecycleChange | None:
        state, event = next_state(b, buckets, now, config)
        change = LifecycleChange(state=state, severity=severity_of(state, buckets, now, config), event=event)
        return None if (change.state, change.severity) == (b.state, b.severity) else change

    return decide


def next_state(b: StoredBehavior, buckets: BucketCounts, now: float, config: LifecycleConfig
               ) -> tuple[str, str | None]:
    """The state ``b`` should be in at ``now`` and the event kind to log for the move (``None``: none)."""
    if b.state == STATE_RESOLVED:
        return b.state, None  # only a new member ends resolution
    if now - b.last_seen >= resolve_after(b, config):
        return STATE_RESOLVED, BehaviorEventKind.RESOLVED.value
    if is_increasing(b, buckets, now, config):
        if b.state == STATE_INCREASING:
            return b.state, None
        return STATE_INCREASING, BehaviorEventKind.INCREASING.value
    if b.state == STATE_INCREASING:
        return STATE_ONGOING, None
    if b.state == STATE_NEW and now - b.first_seen >= config.new_for_s:
        return STATE_ONGOING, None
    if b.state == STATE_REGRESSED and now - b.state_since >= config.new_for_s:
        return STATE_ONGOING, None
    return b.state, None


def resolve_after(b: StoredBehavior, config: LifecycleConfig) -> float:
    """Seconds without a member after which ``b`` is resolved: a multiple of its usual interval."""
    usual_interval = (b.last_seen - b.first_seen) / max(b.member_count - 1, 1)
    wanted = config.resolve_after_intervals * usual_interval
    return min(max(wanted, config.resolve_min_s), config.resolve_max_s)


def is_increasing(b: StoredBehavior, buckets: BucketCounts, now: float, config: LifecycleConfig) -> bool:
    """Whether the trend window's rate is ``increase_factor`` times the baseline's (see the module doc)."""
    trend_start = bucket_of(now - config.trend_window_s) + 1
    recent = sum(m for bucket, m in buckets.items() if bucket >= trend_start)
    if recent < config.increase_min_members:
        return False
    baseline_start = max(bucket_of(now - config.baseline_window_s), bucket_of(b.first_seen))
    baseline_s = (trend_start - baseline_start) * BUCKET_S
    if baseline_s < config.trend_window_s:
        return False  # too young to have a usual rate: it is new, not increasing
    baseline = sum(m for bucket, m in buckets.items() if baseline_start <= bucket < trend_start)
    recent_rate = recent / ((bucket_of(now) - trend_start + 1) * BUCKET_S)
    return recent_rate >= config.increase_factor * (baseline / baseline_s)


def severity_of(state: str, buckets: BucketCounts, now: float, config: LifecycleConfig) -> str:
    """Severity from the members of the baseline window and the state (see the module doc)."""
    if state == STATE_RESOLVED:
        return SEVERITIES[0]
    since = bucket_of(now - config.baseline_window_s)
    members = sum(m for bucket, m in buckets.items() if bucket >= since)
    level = 2 if members >= HIGH_MEMBERS else 1 if members >= MEDIUM_MEMBERS else 0
    if state == STATE_INCREASING:
        level += 1
    return SEVERITIES[min(level, len(SEVERITIES) - 1)]
