"""Behavior grouping quality on the labeled evaluation set (benchmarks/behavior_families.py), for each offline
embedding option, through the evaluator's real online path: every failure goes through
``SharedState.record_failure`` (SQLite) with the grouper's chooser, exactly as a failing span would.

Reports purity, NMI, ARI, the share of a family's members in its majority behavior, how many spans of the
late family arrive before it gets a behavior of its own ("flagged new"), behaviors created, ms per span
(embedding + placement) and the process's peak RSS. Each embedder runs in its own process so memory
figures do not mix::

    .venv/bin/python benchmarks/behaviors_quality.py                 # every option, a table
    .venv/bin/python benchmarks/behaviors_quality.py --sweep         # also similarity thresholds
    .venv/bin/python benchmarks/behaviors_quality.py --split-back    # merged families split back apart
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from behavior_families import LATE_FAMILY, SCORER, LabeledFailure, failure_stream

EMBEDDERS = ("wordllama", "hashing")


@dataclass
class Quality:
    embedder: str
    reclustered: bool
    threshold: float
    spans: int
    behaviors: int
    purity: float
    nmi: float
    ari: float
    majority_share: float
    late_spans_until_new: int | None
    id_stability: float | None
    """Share of the spans placed before the first re-clustering pass whose behavior (after following
    merges) is the same after the second pass as after the first."""
    embed_ms: float
    """Milliseconds to embed one failure text (the model alone)."""
    ms_per_span: float
    """Milliseconds per failure end to end: embedding plus the placement in the state database."""
    peak_rss_mib: float


def scores(labels: list[str], clusters: list[str]) -> dict[str, float]:
    """Purity, NMI, ARI and the mean share of a family's members in its majority cluster."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    by_cluster: dict[str, Counter[str]] = {}
    by_family: dict[str, Counter[str]] = {}
    for label, cluster in zip(labels, clusters, strict=True):
        by_cluster.setdefault(cluster, Counter())[label] += 1
        by_family.setdefault(label, Counter())[cluster] += 1
    purity = sum(c.most_common(1)[0][1] for c in by_cluster.values()) / len(labels)
    majority = sum(c.most_common(1)[0][1] / sum(c.values()) for c in by_family.values()) / len(by_family)
    return {"purity": purity, "nmi": normalized_mutual_info_score(labels, clusters),
            "ari": adjusted_rand_score(labels, clusters), "majority_share": majority}


def late_spans_until_new(stream: list[LabeledFailure], created: list[bool]) -> int | None:
    """Spans of the late family seen until one of them founds a behavior (1: its very first span)."""
    seen = 0
    for failure, new in zip(stream, created, strict=True):
        if failure.family == LATE_FAMILY:
            seen += 1
            if new:
                return seen
    return None


def make_embedder(name: str) -> Any:
    from evaluator_service.behaviors.local_embedders import HashingEmbedder, WordLlamaEmbedder

    return {"wordllama": WordLlamaEmbedder, "hashing": HashingEmbedder}[name]()


def failure_text_of(f: LabeledFailure) -> str:
    from evaluator_service.behaviors.text import failure_text

    return failure_text(SCORER, f.reason, {"input": f.input, "actual_output": f.actual_output},
                        ("input", "actual_output"))


async def resolved(state: Any, ids: list[str]) -> list[str]:
    """Each behavior id followed through merges to the behavior that holds its members now."""
    into = {b.id: b.merged_into for b in await state.behaviors()}
    out = []
    for bid in ids:
        while into.get(bid):
            bid = into[bid]
        out.append(bid)
    return out


async def run_online(name: str, threshold: float | None, per_family: int, seed: int,
                     reclustered: bool = False) -> Quality:
    """The stream through ``record_failure`` on a fresh SQLite state, as the grouper places failures; with
    ``reclustered``, the re-clustering pass runs halfway and at the end."""
    from evaluator_service.behaviors.matching import nearest_behavior
    from evaluator_service.behaviors.reclustering import recluster
    from evaluator_service.behaviors.text import salient_name
    from evaluator_service.state import SqliteSharedState
    from evaluator_service.state.behavior_records import BehaviorExample
    from evaluator_service.state.behavior_rows import FailureDraft

    stream = failure_stream(per_family, seed)
    embedder = make_embedder(name)
    chosen = threshold if threshold is not None else embedder.default_threshold
    embedder.vectorize("warm up")  # model load is start-up cost, not per-span cost
    choose = nearest_behavior(chosen)
    clusters, created = [], []
    stability = None
    embedding_s = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        state = SqliteSharedState(Path(tmp) / "state.sqlite3")
        await state.open()
        started = time.perf_counter()
        first_pass: list[str] = []
        for n, failure in enumerate(stream):
            if reclustered and n == len(stream) // 2:
                await recluster(state, min_similarity=embedder.merge_similarity)
                first_pass = await resolved(state, clusters)
            text = failure_text_of(failure)
            embed_started = time.perf_counter()
            vector = embedder.vectorize(text)
            embedding_s += time.perf_counter() - embed_started
            draft = FailureDraft(scorer=SCORER, space=embedder.space, vector=vector,
                                 example=BehaviorExample(f"{n:032x}", f"{n:016x}", text),
                                 provisional_name=salient_name([failure.reason]))
            behavior, new, _ = await state.record_failure(draft, choose)
            clusters.append(behavior.id)
            created.append(new)
        if reclustered:
            await recluster(state, min_similarity=embedder.merge_similarity)
            clusters = await resolved(state, clusters)
            stability = sum(a == b for a, b in zip(first_pass, clusters, strict=False)) / len(first_pass)
        elapsed = time.perf_counter() - started
        await state.close()
    measured = scores([f.family for f in stream], clusters)
    return Quality(embedder=name, reclustered=reclustered, threshold=chosen, spans=len(stream),
                   behaviors=len(set(clusters)), id_stability=stability,
                   late_spans_until_new=late_spans_until_new(stream, created),
                   ms_per_span=1000 * elapsed / len(stream), embed_ms=1000 * embedding_s / len(stream),
                   peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, **measured)


async def run_split_back(name: str, per_family: int, seed: int) -> dict[str, Any]:
    """Every pair of families deliberately merged into one behavior (all of the first family, half of the
    second, as drift leaves a behavior), and every family alone in one; then the split step of the
    re-clustering pass, as the grouper runs it. Counts the pairs split back into their two families (the
    original id keeping the first), the ones split back at 90% purity, and coherent families split."""
    import itertools

    from evaluator_service.behaviors.splitting import split_mixed
    from evaluator_service.state import SqliteSharedState
    from evaluator_service.state.behavior_records import BehaviorExample
    from evaluator_service.state.behavior_rows import FailureDraft

    embedder = make_embedder(name)
    by_family: dict[str, list[tuple[LabeledFailure, list[float]]]] = {}
    for f in failure_stream(per_family, seed):
        by_family.setdefault(f.family, []).append((f, embedder.vectorize(failure_text_of(f))))
    families = sorted(by_family)
    pairs = list(itertools.combinations(families, 2))
    groups = {f"{a}+{b}": by_family[a] + by_family[b][: per_family // 2] for a, b in pairs}
    groups.update({family: by_family[family] for family in families})
    cut = min(embedder.default_threshold, embedder.merge_similarity)
    with tempfile.TemporaryDirectory() as tmp:
        state = SqliteSharedState(Path(tmp) / "state.sqlite3")
        await state.open()
        first: dict[str, str] = {}
        n = 0
        for scorer, members in groups.items():
            for f, vector in members:
                n += 1
                draft = FailureDraft(scorer=scorer, space=embedder.space, vector=vector,
                                     example=BehaviorExample(f"{n:032x}", f"{n:016x}", f.family,
                                                             reason=f.reason, vector=tuple(vector)),
                                     provisional_name=scorer, at=float(n))
                placed = await state.record_failure(draft, lambda _d, offered: next(iter(offered), None))
                behavior = placed.behavior
                first.setdefault(scorer, behavior.id)
        started = time.perf_counter()
        await split_mixed(state, cut, 5, now=float(n + 1))
        elapsed = time.perf_counter() - started
        found: dict[str, list[tuple[str, Counter[str]]]] = {}
        for b in await state.behaviors():
            found.setdefault(b.scorer, []).append(
                (b.id, Counter(s.text for s in await state.behavior_samples(b.id))))
        await state.close()
    exact = pure = 0
    for a, b in pairs:
        split = {bid: counts for bid, counts in found[f"{a}+{b}"]}
        if len(split) != 2 or first[f"{a}+{b}"] not in split:
            continue
        kept = split.pop(first[f"{a}+{b}"])
        other = next(iter(split.values()))
        exact += set(kept) == {a} and set(other) == {b}
        pure += kept[a] >= 0.9 * kept.total() and other[b] >= 0.9 * other.total()
    return {"embedder": name, "cut": cut, "pairs": len(pairs), "split_back": exact, "split_back_90": pure,
            "coherent": len(families), "coherent_split": sum(len(found[f]) > 1 for f in families),
            "ms_per_behavior": 1000 * elapsed / len(groups)}


def online_clusters(vectors: Any, threshold: float) -> tuple[list[str], list[bool]]:
    """In-memory online clustering by the state's rule: join the most similar centroid at or above
    ``threshold`` (updating its running mean), else open a new cluster. Returns each vector's cluster and
    whether it opened one."""
    import numpy as np

    centroids: list[Any] = []
    members: list[int] = []
    clusters, created = [], []
    for v in vectors:
        best, sim = -1, -1.0
        if centroids:
            c = np.array(centroids)
            sims = c @ v / (np.linalg.norm(c, axis=1) * np.linalg.norm(v) + 1e-12)
            best, sim = int(sims.argmax()), float(sims.max())
        if best >= 0 and sim >= threshold:
            centroids[best] = (centroids[best] * members[best] + v) / (members[best] + 1)
            members[best] += 1
        else:
            centroids.append(v.copy())
            members.append(1)
            best = len(centroids) - 1
        clusters.append(str(best))
        created.append(members[best] == 1)
    return clusters, created


def sweep(name: str, per_family: int, seed: int) -> list[tuple[float, dict[str, float], int]]:
    """In-memory online clustering (same rule as the state's) over a range of thresholds."""
    import numpy as np

    stream = failure_stream(per_family, seed)
    embedder = make_embedder(name)
    vectors = np.array([embedder.vectorize(failure_text_of(f)) for f in stream])
    out = []
    for threshold in [round(0.3 + 0.05 * i, 2) for i in range(13)]:
        clusters, created = online_clusters(vectors, threshold)
        out.append((threshold, scores([f.family for f in stream], clusters), sum(created)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description="behavior grouping quality per embedder")
    parser.add_argument("--one", choices=EMBEDDERS, help="run one embedder in this process (JSON out)")
    parser.add_argument("--threshold", type=float)
    parser.add_argument("--per-family", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--sweep", action="store_true", help="also sweep similarity thresholds")
    parser.add_argument("--recluster", action="store_true",
                        help="(with --one) re-cluster halfway and at the end")
    parser.add_argument("--split-back", action="store_true",
                        help="merge every pair of families into one behavior; count the pairs split back")
    args = parser.parse_args()
    if args.split_back:
        for name in ([args.one] if args.one else EMBEDDERS):
            print(json.dumps(asyncio.run(run_split_back(name, args.per_family, args.seed))))
        return
    if args.one:
        quality = asyncio.run(run_online(args.one, args.threshold, args.per_family, args.seed,
                                         args.recluster))
        print(json.dumps(quality.__dict__))
        return
    print(f"{'embedder':<10} {'pass':<10} {'thr':>4} {'spans':>5} {'groups':>6} {'purity':>6} {'NMI':>5} "
          f"{'ARI':>5} {'major':>5} {'late->new':>9} {'ids kept':>8} {'embed ms':>8} {'ms/span':>7} "
          f"{'RSS MiB':>7}")
    for name in EMBEDDERS:
        for reclustered in (False, True):
            cmd = [sys.executable, __file__, "--one", name, "--per-family", str(args.per_family),
                   "--seed", str(args.seed), *(["--recluster"] if reclustered else [])]
            if args.threshold is not None:
                cmd += ["--threshold", str(args.threshold)]
            q = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
            kept = f"{q['id_stability']:.3f}" if q["id_stability"] is not None else "-"
            mode = "online+HDB" if reclustered else "online"
            print(f"{q['embedder']:<10} {mode:<10} {q['threshold']:>4.2f} {q['spans']:>5} "
                  f"{q['behaviors']:>6} {q['purity']:>6.3f} {q['nmi']:>5.3f} {q['ari']:>5.3f} "
                  f"{q['majority_share']:>5.3f} {q['late_spans_until_new']!s:>9} {kept:>8} "
                  f"{q['embed_ms']:>8.2f} {q['ms_per_span']:>7.2f} {q['peak_rss_mib']:>7.0f}")


if __name__ == "__main__":
    main()
