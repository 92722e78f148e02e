"""Salient-term names for behaviors, c-TF-IDF style: the words that set a behavior apart from the other
behaviors of its scorer, not merely its most frequent words.

Each behavior's evidence (the reasons of its example members, or their inputs for an input behavior) is one
document; scikit-learn's ``TfidfVectorizer`` over those documents weighs a word by how often it appears in
this behavior against how many behaviors use it, so "refund" names the refund behavior while "customer",
which every behavior of a support agent says, names none. The re-clustering pass renames behaviors whose
name is still provisional; a model's name and an operator's name are never replaced.
"""

from __future__ import annotations

from collections.abc import Sequence

from evaluator_service.behaviors.text import NAME_TERMS, salient_name, stopwords
from evaluator_service.state.behavior_records import KIND_INPUT, StoredBehavior


def evidence_text(b: StoredBehavior) -> str:
    """What a behavior's name is drawn from: its examples' reasons (inputs for an input behavior)."""
    parts = [(e.input if b.kind == KIND_INPUT else e.reason) or e.text for e in b.examples]
    return "\n".join(parts) or b.description


def distinctive_names(behaviors: Sequence[StoredBehavior], max_terms: int = NAME_TERMS) -> dict[str, str]:
    """A name for each behavior from its most distinctive words among ``behaviors`` (one scorer's), in the
    order they appear in its evidence; the plain salient-words name when there is nothing to contrast."""
    documents = [evidence_text(b) for b in behaviors]
    if len(behaviors) < 2 or not any(documents):
        return {b.id: salient_name([d]) for b, d in zip(behaviors, documents, strict=True)}
    from sklearn.feature_extraction.text import TfidfVectorizer

    # max_df: a word every behavior of the scorer uses names none of them.
    vectorizer = TfidfVectorizer(stop_words=sorted(stopwords()), sublinear_tf=True, max_df=0.999,
                                 token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z'-]{2,}\b")
    try:
        matrix = vectorizer.fit_transform(documents)
    except ValueError:  # nothing but stop words
        return {b.id: salient_name([d]) for b, d in zip(behaviors, documents, strict=True)}
    terms = vectorizer.get_feature_names_out()
    names: dict[str, str] = {}
    for row, (b, document) in enumerate(zip(behaviors, documents, strict=True)):
        weights = matrix.getrow(row).toarray()[0]
        top = [terms[i] for i in weights.argsort()[::-1][:max_terms] if weights[i] > 0]
        lowered = document.lower()
        ordered = sorted(top, key=lambda t: lowered.find(t) if t in lowered else len(lowered))
        names[b.id] = " ".join(ordered) or salient_name([document])
    return names
