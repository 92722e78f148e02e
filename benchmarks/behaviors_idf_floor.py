"""Is TF-IDF weighting a better offline floor than the ``hashing`` embedder's plain n-gram counts?

The same hashed word 1-2-gram and character 3-5-gram counts as
:class:`~evaluator_service.behaviors.local_embedders.HashingEmbedder` (scikit-learn ``HashingVectorizer``),
weighted four ways, then clustered online (nearest centroid at or above a similarity threshold, running
mean: the rule of ``record_failure``) over the labeled stream of ``behavior_families.py``:

- ``hashing``: counts, L2-normalized per analyzer (what ships);
- ``idf all``: TF-IDF with the IDF fitted on the whole stream (an upper bound no online system has);
- ``idf first K``: the IDF fitted on the first K failures, then frozen (a reservoir fitted once);
- ``streaming idf``: each failure weighted by the document frequencies of the failures seen so far
  (including itself), its vector never recomputed (what a replica without shared state could do).

For each, the best threshold of a sweep (by NMI + ARI) and fixed thresholds, on several seeds::

    .venv/bin/python benchmarks/behaviors_idf_floor.py [--seeds 7 11 23] [--per-family 40]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from behavior_families import failure_stream
from behaviors_quality import failure_text_of, late_spans_until_new, online_clusters, scores

THRESHOLDS = [round(0.2 + 0.05 * i, 2) for i in range(15)]
SHOWN = (0.35, 0.4, 0.5, 0.6)


def counts(texts: list[str]) -> tuple[Any, Any]:
    from sklearn.feature_extraction.text import HashingVectorizer

    words = HashingVectorizer(analyzer="word", ngram_range=(1, 2), stop_words="english", n_features=1024,
                              alternate_sign=False, norm=None)
    chars = HashingVectorizer(analyzer="char_wb", ngram_range=(3, 5), n_features=1024,
                              alternate_sign=False, norm=None)
    return words.transform(texts).toarray(), chars.transform(texts).toarray()


def unit(m: Any) -> Any:
    return m / (np.linalg.norm(m, axis=1, keepdims=True) + 1e-12)


def joined(w: Any, c: Any) -> Any:
    return unit(np.hstack([unit(w), unit(c)]))


def idf(df: Any, n: int) -> Any:
    return np.log((1 + n) / (1 + df)) + 1  # scikit-learn's smooth_idf


def frozen(w: Any, c: Any, k: int) -> Any:
    return joined(w * idf((w[:k] > 0).sum(axis=0), k), c * idf((c[:k] > 0).sum(axis=0), k))


def streaming(w: Any, c: Any) -> Any:
    dfw, dfc = np.zeros(w.shape[1]), np.zeros(c.shape[1])
    out_w, out_c = [], []
    for i in range(len(w)):
        dfw += w[i] > 0
        dfc += c[i] > 0
        out_w.append(w[i] * idf(dfw, i + 1))
        out_c.append(c[i] * idf(dfc, i + 1))
    return joined(np.array(out_w), np.array(out_c))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[7, 11, 23])
    parser.add_argument("--per-family", type=int, default=40)
    args = parser.parse_args()
    print(f"{'seed':>4} {'weighting':<14} {'thr':>6} {'groups':>6} {'purity':>6} {'NMI':>5} {'ARI':>5} "
          f"{'major':>5} {'late->new':>9}")
    for seed in args.seeds:
        stream = failure_stream(args.per_family, seed)
        labels = [f.family for f in stream]
        w, c = counts([failure_text_of(f) for f in stream])
        variants = {"hashing": joined(w, c), "idf all": frozen(w, c, len(stream)),
                    "idf first 64": frozen(w, c, 64), "idf first 128": frozen(w, c, 128),
                    "streaming idf": streaming(w, c)}
        for name, vectors in variants.items():
            rows = []
            for threshold in THRESHOLDS:
                clusters, created = online_clusters(vectors, threshold)
                s = scores(labels, clusters)
                rows.append((s["nmi"] + s["ari"], threshold, s, len(set(clusters)),
                             late_spans_until_new(stream, created)))
            best = max(rows, key=lambda r: r[0])
            for tag, (_, threshold, s, groups, late) in [("best", best)] + [
                    ("", r) for r in rows if r[1] in SHOWN]:
                print(f"{seed:>4} {name:<14} {tag + f'{threshold:.2f}':>6} {groups:>6} {s['purity']:>6.3f} "
                      f"{s['nmi']:>5.3f} {s['ari']:>5.3f} {s['majority_share']:>5.3f} {late!s:>9}")


if __name__ == "__main__":
    main()
