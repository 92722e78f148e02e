"""Provisional behavior names (no chat model configured) on the labeled evaluation set
(benchmarks/behavior_families.py): do they say what the failure is, and do they read as a phrase?

Two names are measured, as the evaluator makes them:

* **at creation** — the name a behavior gets from the one failure that founds it
  (``text.salient_name([reason])``), over every failure of the stream;
* **after re-clustering** — the stream placed online through the real ``record_failure`` path (SQLite), then
  the re-clustering pass (merge near-duplicates, rename provisional names with c-TF-IDF,
  ``term_names.distinctive_names``); each family's majority behavior's name.

A name *says the family* when one of its words starts with one of the family's key terms below (chosen from
the family's meaning, not from the names); it *reads as a phrase* when it is a contiguous run of words of
one of the behavior's member reasons (case, quotes and spacing aside), i.e. nothing was dropped from its
middle. Run::

    .venv/bin/python benchmarks/behavior_names.py [--per-family 40] [--seed 7] [--embedder hashing] [--show]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from behavior_families import FAMILIES, SCORER, failure_stream
from behaviors_quality import failure_text_of, make_embedder, resolved

KEY_TERMS: dict[str, tuple[str, ...]] = {
    "refund_refused": ("refund", "reimburs", "money"),
    "pii_leak": ("pii", "personal", "email", "e-mail", "phone", "address", "contact", "private"),
    "hallucinated_tracking": ("track", "shipment", "shipped", "carrier", "parcel", "delivery", "invent",
                              "fabricat", "hallucinat", "made-up"),
    "rude_tone": ("rude", "condescend", "dismissive", "insult", "mock", "impolite", "sarcas", "belittl",
                  "disrespect", "tone"),
    "wrong_language": ("language", "english", "spanish", "german", "french", "japanese", "portuguese",
                       "italian", "speaks"),
    "ignores_package_question": ("package", "parcel", "question", "inquiry", "unanswered"),
    "prompt_injection_followed": ("inject", "instruction", "jailbreak", "system prompt", "prompt",
                                  "unrestricted", "configuration"),
    "tool_call_error": ("tool", "function", "argument", "parameter", "malformed"),
    "too_verbose": ("verbose", "long", "concise", "rambl", "repeat", "repetitive", "lengthy"),
    "unsupported_claim": ("claim", "unsupported", "evidence", "source", "knowledge", "document", "context",
                          "asserts", "cites"),
    "wrong_price_math": ("calculat", "miscalculat", "math", "arithmetic", "total", "price", "add up",
                         "amount"),
    "off_topic": ("off-topic", "topic", "unrelated", "irrelevant", "drifts"),
    "promises_delivery_date": ("promise", "guarantee", "commit", "delivery", "arrival", "arrive", "assures"),
}
assert set(KEY_TERMS) == set(FAMILIES)

_WORDS = re.compile(r"[a-z0-9][a-z0-9_'-]*")


def says_family(name: str, family: str) -> bool:
    """Whether a word of ``name`` (or a two-word run, for terms like "system prompt") starts with a key
    term of ``family``."""
    words = _WORDS.findall(name.lower())
    runs = words + [f"{a} {b}" for a, b in itertools.pairwise(words)]
    return any(run.startswith(term) for run in runs for term in KEY_TERMS[family])


def _plain(text: str) -> str:
    return " ".join(_WORDS.findall(text.lower().replace("'s", "")))


def reads_as_phrase(name: str, reasons: list[str]) -> bool:
    """Whether ``name`` is a contiguous run of words of one of ``reasons``."""
    wanted = f" {_plain(name)} "
    return bool(_plain(name)) and any(wanted in f" {_plain(r)} " for r in reasons)


def at_creation(per_family: int, seed: int) -> dict[str, Any]:
    """Names from the founding failure alone, over every failure of the stream."""
    from evaluator_service.behaviors.text import salient_name

    stream = failure_stream(per_family, seed)
    names = [(f, salient_name([f.reason])) for f in stream]
    by_family: dict[str, list[bool]] = {}
    for f, name in names:
        by_family.setdefault(f.family, []).append(says_family(name, f.family))
    return {"says_family": sum(says_family(n, f.family) for f, n in names) / len(names),
            "families_mostly_named": sum(sum(v) / len(v) >= 0.5 for v in by_family.values()) / len(by_family),
            "reads_as_phrase": sum(reads_as_phrase(n, [f.reason]) for f, n in names) / len(names),
            "examples": {f.family: n for f, n in names}}


async def after_reclustering(per_family: int, seed: int, embedder_name: str) -> dict[str, Any]:
    """The stream placed online, then one re-clustering pass; each family's majority behavior's name."""
    from evaluator_service.behaviors.matching import nearest_behavior
    from evaluator_service.behaviors.reclustering import recluster
    from evaluator_service.behaviors.text import salient_name
    from evaluator_service.state import SqliteSharedState
    from evaluator_service.state.behavior_records import BehaviorExample
    from evaluator_service.state.behavior_rows import FailureDraft

    stream = failure_stream(per_family, seed)
    embedder = make_embedder(embedder_name)
    choose = nearest_behavior(embedder.default_threshold)
    placed: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        state = SqliteSharedState(Path(tmp) / "state.sqlite3")
        await state.open()
        for n, failure in enumerate(stream):
            text = failure_text_of(failure)
            vector = embedder.vectorize(text)
            draft = FailureDraft(scorer=SCORER, space=embedder.space, vector=vector,
                                 example=BehaviorExample(f"{n:032x}", f"{n:016x}", text,
                                                         reason=failure.reason, input=failure.input,
                                                         vector=tuple(vector)),
                                 provisional_name=salient_name([failure.reason]), description=failure.reason)
            behavior, _, _ = await state.record_failure(draft, choose)
            placed.append(behavior.id)
        await recluster(state, min_similarity=embedder.merge_similarity)
        placed = await resolved(state, placed)
        behaviors = {b.id: b for b in await state.behaviors()}
        await state.close()
    members: dict[str, Counter[str]] = {}
    for failure, bid in zip(stream, placed, strict=True):
        members.setdefault(failure.family, Counter())[bid] += 1
    named = {family: behaviors[c.most_common(1)[0][0]] for family, c in members.items()}
    reasons: dict[str, list[str]] = {}
    for failure, bid in zip(stream, placed, strict=True):
        reasons.setdefault(bid, []).append(failure.reason)
    return {"says_family": sum(says_family(b.name, fam) for fam, b in named.items()) / len(named),
            "reads_as_phrase": sum(reads_as_phrase(b.name, reasons[b.id]) for b in named.values())
            / len(named),
            "behaviors": len(set(placed)),
            "examples": {family: b.name for family, b in sorted(named.items())}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-family", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--embedder", default="hashing", choices=("hashing", "wordllama"))
    parser.add_argument("--show", action="store_true", help="print each family's names")
    args = parser.parse_args()
    created = at_creation(args.per_family, args.seed)
    later = asyncio.run(after_reclustering(args.per_family, args.seed, args.embedder))
    print("| names | says its family | reads as a phrase |")
    print("|---|---|---|")
    print(f"| at creation (per failure) | {created['says_family']:.3f} | {created['reads_as_phrase']:.3f} |")
    print(f"| after re-clustering ({args.embedder}, per family) | {later['says_family']:.3f} | "
          f"{later['reads_as_phrase']:.3f} |")
    if args.show:
        for family in sorted(FAMILIES):
            print(f"{family:26} created: {created['examples'][family]!r:52} "
                  f"later: {later['examples'][family]!r}")


if __name__ == "__main__":
    main()
