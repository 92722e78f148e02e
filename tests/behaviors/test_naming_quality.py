"""Provisional behavior names (no chat model) on the labeled evaluation set, through the benchmark's own code
(benchmarks/behavior_names.py: names at creation, and after the real ``record_failure`` path plus the
re-clustering pass). Floors sit well below the measured figures (benchmarks/README.md): they catch a
naming that stops saying what the failure is, or that goes back to gapped word lists."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def names_benchmark() -> ModuleType:
    sys.path.insert(0, str(BENCHMARKS))  # it imports its siblings behavior_families and behaviors_quality
    try:
        spec = importlib.util.spec_from_file_location("behavior_names", BENCHMARKS / "behavior_names.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCHMARKS))


def test_the_measures_tell_a_phrase_from_a_word_list() -> None:
    bench = names_benchmark()
    assert bench.says_family("no refund was offered", "refund_refused")
    assert bench.says_family("prompt injection followed", "prompt_injection_followed")
    assert not bench.says_family("blender arrived broken", "refund_refused")
    reasons = ["Tool 'search_web' was called 4 times in a row"]
    assert bench.reads_as_phrase("tool 'search_web' was called 4 times", reasons)
    assert not bench.reads_as_phrase("tool search_web called times", reasons)  # the old top-words name


def test_names_at_creation_say_the_family_and_read_as_phrases() -> None:
    measured = names_benchmark().at_creation(per_family=10, seed=7)
    # measured 0.99 and 0.98 (README); the top-words names read as a phrase 0.15-0.19 of the time
    assert measured["says_family"] >= 0.85
    assert measured["reads_as_phrase"] >= 0.8


async def test_names_after_reclustering_say_the_family_and_read_as_phrases() -> None:
    measured = await names_benchmark().after_reclustering(per_family=10, seed=7, embedder_name="hashing")
    # measured 0.92-1.0 and 0.92-1.0 (README); the top-words names read as a phrase 0-0.08 of the time
    assert measured["says_family"] >= 0.6
    assert measured["reads_as_phrase"] >= 0.75
