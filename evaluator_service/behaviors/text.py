"""What a failure looks like as text (the thing that is embedded), and fallback behavior names.

The text is the scorer's name, its reason, then the configured example fields, truncated: the reason says
*how* the span failed, the fields say *on what*, so two failures group when both are alike.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

MAX_TEXT_CHARS = 2000
"""Cap on the text of one failure (embedding cost and example size stay bounded)."""
MAX_FIELD_CHARS = 600
NAME_TERMS = 4

_WORD = re.compile(r"[a-z][a-z0-9'_-]*")
# Function words and the vocabulary every judge reason shares; they name nothing.
_STOPWORDS_TEXT = (
    "a an and are as at be been but by can could did do does for from had has have in into is it its llm "
    "no not of on or so than that the their them then there these this those to was were which while will "
    "with would evaluation evaluated score scorer scored response responses output answer reason judge "
    "adequately appropriately properly correctly fully yes none found"
)
_STOPWORDS = frozenset(_STOPWORDS_TEXT.split())


def stopwords() -> frozenset[str]:
    """Function words and the vocabulary every judge reason shares (they name nothing)."""
    return _STOPWORDS


def failure_text(scorer: str, reason: str, example: Mapping[str, Any], fields: Sequence[str]) -> str:
    """``scorer: reason`` then ``field: value`` lines for the ``fields`` present, at most MAX_TEXT_CHARS."""
    lines = [f"{scorer}: {reason}".strip()]
    for name in fields:
        value = example.get(name)
        if value is None or value == "":
            continue
        shown = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
        lines.append(f"{name}: {shown[:MAX_FIELD_CHARS]}")
    return "\n".join(lines)[:MAX_TEXT_CHARS]


def salient_name(reasons: Iterable[str], max_terms: int = NAME_TERMS) -> str:
    """The ``max_terms`` most frequent salient words of ``reasons``, in the order they first appear.

    ``["LLM evaluation: Response doesn't adequately address package inquiry"]`` →
    ``"doesn't address package inquiry"``. Deterministic, so every replica derives the same name."""
    counts: Counter[str] = Counter()
    first_seen: dict[str, int] = {}
    for reason in reasons:
        for raw in _WORD.findall(reason.lower()):
            word = raw.strip("'_-")
            if word in _STOPWORDS or len(word) < 3:
                continue
            counts[word] += 1
            first_seen.setdefault(word, len(first_seen))
    top = sorted(counts, key=lambda w: (-counts[w], first_seen[w]))[:max_terms]
    return " ".join(sorted(top, key=first_seen.__getitem__)) or "unexplained failure"


def clean_model_name(answer: str, max_words: int = 8) -> str:
    """A model's answer reduced to a short one-line name (``""`` when nothing usable is left)."""
    line = next((ln for ln in answer.strip().splitlines() if ln.strip()), "")
    line = re.sub(r"^(name|behavior)\s*:\s*", "", line.strip(), flags=re.IGNORECASE)
    words = line.strip(" \"'`*.").split()
    return " ".join(words[:max_words])[:80]
