"""Shared by the lifecycle tests: an injectable clock and failure drafts at chosen times."""

from __future__ import annotations

from evaluator_service.behaviors.local_embedders import HASHING_SPACE, HashingEmbedder
from evaluator_service.behaviors.matching import nearest_behavior
from evaluator_service.behaviors.settings import LifecycleConfig
from evaluator_service.behaviors.text import salient_name
from evaluator_service.state.behavior_records import BehaviorExample
from evaluator_service.state.behavior_rows import FailureDraft

T0 = 1_800_000_000.0
"""A fixed start time (2027-01-15), aligned to nothing in particular."""
LATE = "Sorry, your order is delayed and we cannot refund it"
LEAK = "Personal data found: email address of another customer"
vectorizer = HashingEmbedder()
near = nearest_behavior(0.8)
FAST = LifecycleConfig(new_for_s=600, trend_window_s=900, baseline_window_s=6 * 3600, increase_factor=3.0,
                       increase_min_members=5, resolve_after_intervals=10, resolve_min_s=1800,
                       resolve_max_s=86400)


class Clock:
    """Time that moves only when a test says so."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def failure(text: str, at: float, n: int = 1, scorer: str = "refund_keyword", service: str = "shop",
            agent: str = "support-agent", environment: str = "prod") -> FailureDraft:
    vector = vectorizer.vectorize(text)
    return FailureDraft(
        scorer=scorer, space=HASHING_SPACE, vector=vector,
        example=BehaviorExample(f"{n:032x}", f"{n:016x}", text, reason=text, input=f"question {n}",
                                vector=tuple(vector)),
        provisional_name=salient_name([text]), description=text, service=service, agent=agent,
        environment=environment, at=at,
    )
