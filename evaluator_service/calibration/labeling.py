"""People labeling a dataset's examples: which examples still need a label, and storing labels checked one
by one against the dataset (a label naming a record the dataset does not hold is refused on its own, with
the reason, and the rest are stored).

The judge's verdict stored beside each label is read from the dataset's record here, on the server: what
the judge said is never taken from the labeling client.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from judgeval.protocol.interaction_record import InteractionRecord

from evaluator_service.state import SharedState
from evaluator_service.state.dataset_labels import DatasetLabel, HumanLabel
from evaluator_service.state.dataset_values import MAX_EXAMPLES_PER_PAGE, ExampleCursor, ExampleFilter

MAX_LABELS_PER_CALL = 10_000


@dataclass(frozen=True, slots=True)
class LabelRequest:
    """One label as a client sends it: the record id, ``pass`` or ``fail``, an optional note."""

    record_id: str
    label: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class ToLabel:
    """The unlabeled examples chosen, how many are unlabeled and labeled in the dataset's ``version``, and
    where the page ended (``next_after``: ``None`` at the end, and for a sample)."""

    examples: list[InteractionRecord]
    unlabeled: int
    labeled: int
    version: int = 0
    next_after: ExampleCursor | None = None


async def examples_to_label(state: SharedState, dataset: str, *, sample: int = 0, scorer: str | None = None,
                            limit: int = 100, version: int | None = None, after: ExampleCursor | None = None,
                            rng: random.Random | None = None) -> ToLabel:
    """A keyset page of the dataset's unlabeled examples (``version``: current if ``None``), or, when
    ``sample`` is positive, a random sample of all of them in dataset order, drawn a page at a time
    (reservoir sampling: only the sample is held)."""
    unlabeled = ExampleFilter(scorer=scorer, unlabeled=True)
    if sample > 0:
        chosen, at = await _sample(state, dataset, sample, unlabeled, rng or random.Random())
        page_end = None
    else:
        page = await state.dataset_examples(dataset, version, after=after, limit=limit, where=unlabeled)
        chosen, at, page_end = [e.record for e in page.examples], page.version, page.next_after
    total = await state.count_dataset_examples(dataset, at, ExampleFilter(scorer=scorer))
    left = await state.count_dataset_examples(dataset, at, unlabeled)
    return ToLabel(chosen, left, total - left, at, page_end)


async def _sample(state: SharedState, dataset: str, size: int, where: ExampleFilter, rng: random.Random
                  ) -> tuple[list[InteractionRecord], int]:
    kept: list[tuple[int, InteractionRecord]] = []
    seen, version, after = 0, None, None
    while True:
        page = await state.dataset_examples(dataset, version, after=after, limit=MAX_EXAMPLES_PER_PAGE,
                                            where=where)
        version = page.version  # every page from the version the first one read
        for example in page.examples:
            if len(kept) < size:
                kept.append((seen, example.record))
            elif (slot := rng.randrange(seen + 1)) < size:
                kept[slot] = (seen, example.record)
            seen += 1
        if page.next_after is None:
            return [record for _, record in sorted(kept, key=lambda pair: pair[0])], version
        after = page.next_after


async def store_labels(state: SharedState, dataset: str, requests: Sequence[LabelRequest], labeler: str,
                       now: float) -> tuple[int, list[tuple[str, str]]]:
    """Store the valid labels in one transaction; returns how many, and (record id, problem) per refused
    one. ``UnknownDataset`` if the dataset is absent."""
    await state.dataset(dataset)  # UnknownDataset names it
    records = await state.live_dataset_records(dataset, [r.record_id for r in requests])
    labels: list[DatasetLabel] = []
    problems: list[tuple[str, str]] = []
    for request in requests:
        problem = _problem(request, records)
        if problem is not None:
            problems.append((request.record_id, problem))
            continue
        record = records[request.record_id]
        verdict = HumanLabel(request.label.strip().lower())
        labels.append(DatasetLabel(dataset, record.id, record.scorer, verdict, record.passed, labeler,
                                   request.note, now))
    await state.put_labels(labels)
    return len(labels), problems


def _problem(request: LabelRequest, records: dict[str, InteractionRecord]) -> str | None:
    if request.label.strip().lower() not in (HumanLabel.PASS, HumanLabel.FAIL):
        return f"label must be pass or fail, got {request.label!r}"
    if request.record_id not in records:
        return "no such example in the dataset's current version"
    return None
