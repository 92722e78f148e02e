"""Salient names for behaviors, c-TF-IDF style: the phrase of a member's reason holding the words that set a
behavior apart from the other behaviors of its scorer, not merely its most frequent words.

Each behavior's evidence (the reasons of its example members, or their inputs for an input behavior) is one
document; scikit-learn's ``TfidfVectorizer`` over those documents weighs a word by how often it appears in
this behavior against how many behaviors use it, so "refund" names the refund behavior while "customer",
which every behavior of a support agent says, names none. The name is then the best run of words of one of
the behavior's own member texts under those weights (:func:`~evaluator_service.behaviors.phrase_names.
best_phrase`), so it reads as its reasons do. The re-clustering pass renames behaviors whose name is still
provisional; a model's name and an operator's name are never replaced.
"""

from __future__ import annotations

from collections.abc import Sequence

from evaluator_service.behaviors.phrase_names import best_phrase, content_words
from evaluator_service.behaviors.text import salient_name
from evaluator_service.state.behavior_records import KIND_INPUT, StoredBehavior


def evidence_texts(b: StoredBehavior) -> list[str]:
    """What a behavior's name is drawn from: its examples' reasons (inputs for an input behavior)."""
    parts = [(e.input if b.kind == KIND_INPUT else e.reason) or e.text for e in b.examples]
    return [p for p in parts if p] or ([b.description] if b.description else [])


def distinctive_names(behaviors: Sequence[StoredBehavior]) -> dict[str, str]:
    """A name for each behavior of ``behaviors`` (one scorer's): the phrase of its evidence richest in the
    words that set it apart; the plain salient name when there is nothing to contrast."""
    evidence = [evidence_texts(b) for b in behaviors]
    documents = ["\n".join(texts) for texts in evidence]
    if len(behaviors) < 2 or not any(documents):
        return {b.id: salient_name(texts) for b, texts in zip(behaviors, evidence, strict=True)}
    from sklearn.feature_extraction.text import TfidfVectorizer

    # max_df: a word every behavior of the scorer uses names none of them.
    vectorizer = TfidfVectorizer(analyzer=content_words, sublinear_tf=True, max_df=0.999)
    try:
        matrix = vectorizer.fit_transform(documents)
    except ValueError:  # no word sets any behavior apart
        return {b.id: salient_name(texts) for b, texts in zip(behaviors, evidence, strict=True)}
    terms = vectorizer.get_feature_names_out()
    names: dict[str, str] = {}
    for row, (b, texts) in enumerate(zip(behaviors, evidence, strict=True)):
        weights = matrix.getrow(row).toarray()[0]
        top = weights.max()
        salience = {str(terms[i]): float(weights[i] / top) for i in weights.nonzero()[0]} if top > 0 else {}
        names[b.id] = best_phrase(texts, salience) if salience else salient_name(texts)
    return names
