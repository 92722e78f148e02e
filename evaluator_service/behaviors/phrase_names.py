"""Behavior names as phrases: the run of words of a member's reason that carries the most salient words.

A name made of the top words alone reads badly ("tool search_web called times": the number and the
function words between them are gone). Instead every contiguous run of up to :data:`MAX_WORDS` words of a
member text, within one clause (punctuation and words like "but", "although", "when" end a clause; a short
label's colon does not: "missing: refund"), is a candidate. It scores the salience of the distinct content
words it holds (the caller's weights: how often a word recurs among the members, or its c-TF-IDF weight
against the other behaviors of the scorer), each counting less the later it comes in its text
(:data:`POSITION_DECAY`, :data:`LATER_CLAUSE_FACTOR`: a reason states its point first), plus
:data:`NEGATION_WEIGHT` when it holds a negation and :data:`COMPLETE_BONUS` when it ends where its clause
ends, minus :data:`WORD_COST` per word: a run grows only while the words it takes in are worth it.

A run starts on a content word or a negation and ends on a content word, never on a function word, a
number or a label without a value ("present: none"); a negation just before it ("no refund was offered",
"doesn't adequately address") must be taken in, so a name never says the opposite of its reasons. The
winner is shown as written (quotes, numbers, case; a capitalized first word is lowered):
``tool 'search_web' was called 4 times``, ``doesn't adequately address package inquiry``,
``missing: refund``. Deterministic: every replica derives the same name.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

MAX_WORDS = 6
"""Longest name, in words."""
WORD_COST = 0.15
"""What each word of a name costs against the (0..1) salience of the content words it holds."""
MAX_NAME_CHARS = 80
MAX_SCAN_CHARS = 2000
"""Only this much of each text is read (a name comes from what a reason says first; a huge reason costs no
more than a long one)."""
FALLBACK_NAME = "unexplained failure"

_TOKEN = re.compile(r"#?\d[\d.,:%/]*\d%?|#?\d%?|[^\W\d][\w'\u2019-]*(?:/[^\W\d][\w'\u2019-]*)*", re.UNICODE)
_CLAUSE_BREAK = re.compile(r"[.;:!?()<>,|=\n]|\s[-\u2013\u2014]\s")
_LABEL_COLON = re.compile(r"^[\s'\"\u2018\u2019\u201c\u201d\[\]{}]*:[\s'\"\u2018\u2019\u201c\u201d\[\]{}]*$")
"""The gap after a label ("missing: ['refund']", "language mismatch: question in ..."): it joins the label
to what follows when the label is at most :data:`LABEL_WORDS` words."""
LABEL_WORDS = 3
_CONJUNCTIONS_TEXT = ("but although though because whereas despite however unless while since so instead "
                      "rather when whenever if after before until")
_CONJUNCTIONS = frozenset(_CONJUNCTIONS_TEXT.split())
"""Words that start a new clause (a name never spans two)."""
NEGATION_WEIGHT = 0.6
"""Salience of a negation in a run: judges say what went wrong with one ("no refund was offered")."""
COMPLETE_BONUS = 0.4
"""Worth of a run that ends where its clause (or a label) ends: a whole phrase, no dangling verb."""
POSITION_DECAY = 0.85
"""Each content word before a word makes it count this much less."""
LATER_CLAUSE_FACTOR = 0.7
"""Each clause after a text's first counts this much less (a reason states its point first)."""
# Function words, plus the vocabulary every judge reason shares; they name nothing.
_STOPWORDS_TEXT = (
    "a about above after again all also am an and any are as at be because been before being below between "
    "both but by can could did do does doing during each either else for from further had has have having "
    "he her here hers him his how i if in into is it its itself just llm may me might more most much must my "
    "of off on once only or other our ours out over own per same she should so some such than that the "
    "their theirs them then there these they this those through thus to too under until up upon us very via "
    "was we were what when where whether which while who whom whose why will with would yet you your "
    "evaluation evaluated score scorer scored response responses output answer reason judge adequately "
    "appropriately properly correctly fully yes found clearly simply actually really even still already "
    "agent assistant model user customer reply replies says said states tells told mentions sorry please "
    "unfortunately apologies thanks"
)
_NEGATIONS_TEXT = (
    "no not never nothing none nobody nowhere neither nor without cannot can't couldn't didn't doesn't don't "
    "hadn't hasn't haven't isn't mustn't shouldn't wasn't weren't won't wouldn't aren't fails failed "
    "failing missing lacks"
)
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())
NEGATIONS = frozenset(_NEGATIONS_TEXT.split())


@dataclass(frozen=True, slots=True)
class Token:
    key: str
    """Lower case, possessive dropped: what weights are looked up by (``""`` for a number)."""
    start: int
    end: int
    clause: int
    role: str
    """``content``, ``negation``, ``stop`` or ``number``."""
    label: bool = False
    """A label with no value ("present: none"): a run may start on it, never end on it."""


def word_key(raw: str) -> str:
    """The lookup form of a word: lower case, ``'s`` and surrounding quotes/dashes dropped."""
    key = raw.lower().replace("\u2019", "'").strip("'-_")
    return key[:-2] if key.endswith("'s") else key


def tokens(text: str) -> list[Token]:
    """``text``'s words with their spans, clause numbers and roles."""
    found: list[Token] = []
    clause, last_end, clause_words = 0, 0, 0
    for match in _TOKEN.finditer(text):
        gap = text[last_end:match.start()]
        if _CLAUSE_BREAK.search(gap) and not (_LABEL_COLON.match(gap) and clause_words <= LABEL_WORDS):
            clause, clause_words = clause + 1, 0
        clause_words += 1
        last_end = match.end()
        raw = match.group()
        if word_key(raw) in _CONJUNCTIONS:
            clause, clause_words = clause + 1, 0
            continue
        if raw[0] == "#" or raw[0].isdigit():
            found.append(Token("", match.start(), match.end(), clause, "number"))
            continue
        key = word_key(raw)
        role = ("content" if _quoted(text, match.start(), raw) and len(key) > 1 else
                "negation" if key in NEGATIONS else
                "stop" if key in STOPWORDS or len(key) < 2 else "content")
        if role == "negation" and found and ":" in gap:  # "present: none": the label names nothing
            found[-1] = dataclasses.replace(found[-1], label=True)
        end = match.start() + len(raw.rstrip("'\u2019-"))
        found.append(Token(key, match.start(), end, clause, role))
    return found


_QUOTES = "'\"`\u2018\u2019\u201c\u201d"


def _quoted(text: str, start: int, raw: str) -> bool:
    """Whether the word at ``start`` stands in quotes (``missing "thanks"``): a quoted word is what the
    scorer named, never a stop word."""
    end = start + len(raw)
    return (start > 0 and text[start - 1] in _QUOTES
            and (raw[-1] in _QUOTES or (end < len(text) and text[end] in _QUOTES)))


def content_words(text: str) -> list[str]:
    """The content words of ``text`` (lookup form), in order: what salience weights are computed over."""
    return [t.key for t in tokens(text) if t.role == "content"]


def best_phrase(texts: Iterable[str], weights: Mapping[str, float]) -> str:
    """The best-scoring run of words of one of ``texts`` under ``weights`` (content word → salience,
    about 0..1); :data:`FALLBACK_NAME` when no text has a weighted content word."""
    best: tuple[float, int, int] | None = None
    best_text = ""
    best_span = (0, 0)
    for index, whole in enumerate(texts):
        text = whole[:MAX_SCAN_CHARS]
        words = tokens(text)
        position_weight = _position_weights(words, weights)
        for i, first in enumerate(words):
            if first.role not in ("content", "negation") or _after_negation(words, i):
                continue
            held: dict[str, float] = {}
            factor = LATER_CLAUSE_FACTOR ** min(first.clause, 3)
            negated = 0.0
            for j in range(i, min(i + MAX_WORDS, len(words))):
                word = words[j]
                if word.clause != first.clause:
                    break
                if word.role == "content":
                    held.setdefault(word.key, position_weight[j])
                elif word.role == "negation":
                    negated = NEGATION_WEIGHT
                if word.role != "content" or word.label or not any(held.values()):
                    continue
                salience = sum(held.values()) + negated
                score = factor * salience - WORD_COST * (j - i + 1)
                if _ends_phrase(text, words, j):
                    score += COMPLETE_BONUS
                rank = (score, -index, -i)
                if best is None or rank > best:
                    best, best_text, best_span = rank, text, (first.start, word.end)
    if best is None:
        return FALLBACK_NAME
    return _shown(best_text[best_span[0]:best_span[1]])


def _position_weights(words: list[Token], weights: Mapping[str, float]) -> list[float]:
    """Each word's weight in this text: its salience, less for each content word before it (a reason says
    what went wrong first, the particulars after)."""
    found, seen = [], 0
    for word in words:
        found.append(weights.get(word.key, 0.0) * POSITION_DECAY ** seen if word.role == "content" else 0.0)
        seen += word.role == "content"
    return found


def frequency_weights(texts: Sequence[str]) -> dict[str, float]:
    """Salience as recurrence: the share of ``texts`` a content word appears in (1.0 for a single text)."""
    counts: dict[str, int] = {}
    for text in texts:
        for key in set(content_words(text[:MAX_SCAN_CHARS])):
            counts[key] = counts.get(key, 0) + 1
    return {key: n / len(texts) for key, n in counts.items()} if texts else {}


def _ends_phrase(text: str, words: list[Token], j: int) -> bool:
    """Whether word ``j`` ends its clause or a label ("wrong tool arguments: ...")."""
    if j + 1 == len(words) or words[j + 1].clause != words[j].clause:
        return True
    return ":" in text[words[j].end:words[j + 1].start]


def _after_negation(words: list[Token], i: int) -> bool:
    """Whether a negation precedes word ``i`` in its clause with only function words between ("no refund",
    "doesn't adequately address"): the run must then start at the negation, or it would say the
    opposite."""
    for word in reversed(words[:i]):
        if word.clause != words[i].clause:
            return False
        if word.role == "negation":
            return True
        if word.role != "stop":
            return False
    return False


_QUOTE = r"['\"\u2018\u2019\u201c\u201d]"
_DELIMITING_QUOTE = re.compile(rf"(?<![\w]){_QUOTE}|{_QUOTE}(?![\w])")


def _shown(phrase: str) -> str:
    shown = " ".join(phrase.split())
    if len(_DELIMITING_QUOTE.findall(shown)) % 2:  # a quote the run cut off from its pair
        shown = _DELIMITING_QUOTE.sub("", shown)
    for opening, closing in ("[]", "{}"):
        if shown.count(opening) != shown.count(closing):  # a bracket cut off from its pair
            shown = shown.replace(opening, "").replace(closing, "")
    first = shown.split(" ", 1)[0]
    if first[:1].isupper() and first[1:] == first[1:].lower():  # a sentence's capital, not an acronym
        shown = shown[0].lower() + shown[1:]
    return shown[:MAX_NAME_CHARS].rstrip()
