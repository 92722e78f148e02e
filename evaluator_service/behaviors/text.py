"""What a failure looks like as text (the thing that is embedded), and fallback behavior names.

The text is the scorer's name, its reason, then the configured example fields, truncated: the reason says
*how* the span failed, the fields say *on what*, so two failures group when both are alike. Names are
phrases of the reasons (:mod:`evaluator_service.behaviors.phrase_names`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from evaluator_service.behaviors.phrase_names import best_phrase, frequency_weights

MAX_TEXT_CHARS = 2000
"""Cap on the text of one failure (embedding cost and example size stay bounded)."""
MAX_FIELD_CHARS = 600


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


def salient_name(reasons: Sequence[str]) -> str:
    """A name for failures with these ``reasons``: the run of words of one of them that holds the most
    recurring content words (:mod:`evaluator_service.behaviors.phrase_names`).

    ``["LLM evaluation: Response doesn't adequately address package inquiry"]`` →
    ``"doesn't adequately address package inquiry"``. Deterministic, so every replica derives the same
    name."""
    return best_phrase(reasons, frequency_weights(reasons))


def clean_model_name(answer: str, max_words: int = 8) -> str:
    """A model's answer reduced to a short one-line name (``""`` when nothing usable is left)."""
    line = next((ln for ln in answer.strip().splitlines() if ln.strip()), "")
    line = re.sub(r"^(name|behavior)\s*:\s*", "", line.strip(), flags=re.IGNORECASE)
    words = line.strip(" \"'`*.").split()
    return " ".join(words[:max_words])[:80]
