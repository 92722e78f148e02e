"""The sample of two merged behaviors, from their two samples."""

from __future__ import annotations

import random

from evaluator_service.state.sample_reservoir import SampledMember, merged_sample


def members(prefix: str, count: int) -> list[SampledMember]:
    return [SampledMember(f"{prefix}{n}", f"{n:016x}", n, prefix, prefix, (1.0,)) for n in range(count)]


def test_two_samples_that_fit_are_kept_whole() -> None:
    target, source = members("t", 5), members("s", 3)
    assert merged_sample(target, 5, source, 3, capacity=8) == [*target, *source]


def test_over_the_capacity_each_side_keeps_its_share_of_the_members() -> None:
    target, source = members("t", 64), members("s", 64)
    merged = merged_sample(target, 3000, source, 1000, capacity=64, rng=random.Random(7))
    assert len(merged) == 64
    assert sum(m.reason == "s" for m in merged) == 16  # a quarter of the members came from the source
    assert len(set(merged)) == 64


def test_a_small_side_gives_all_it_has_and_the_other_fills_the_rest() -> None:
    target, source = members("t", 64), members("s", 2)
    merged = merged_sample(target, 100, source, 900, capacity=64, rng=random.Random(1))
    assert sum(m.reason == "s" for m in merged) == 2 and len(merged) == 64
    assert merged_sample(target, 10, source, 10, capacity=0) == []
