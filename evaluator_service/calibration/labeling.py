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
from evaluator_service.state.dataset_rows import MAX_EXAMPLES_PER_PAGE, ExampleFilter

MAX_LABELS_PER_CALL = 10_000


@dataclass(frozen=True, slots=True)
class LabelRequest:
    """One label as a client sends it: the record id, ``pass`` or ``fail``, an optional note."""

    record_id: str
    label: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class ToLabel:
    """The unlabeled examples chosen, and how many are unlabeled and labeled in the dataset."""

    examples: list[InteractionRecord]
    unlabeled: int
    labeled: int


async def live_records(state: SharedState, dataset: str, scorer: str | None = None
                       ) -> list[InteractionRecord]:
    """Every example of the dataset's current version (``UnknownDataset`` if absent), oldest first."""
    records: list[InteractionRecord] = []
    offset: int | None = 0
    version: int | None = None
    where = ExampleFilter(scorer=scorer) if scorer else None
    while offset is not None:
        page = await state.dataset_examples(dataset, version, offset=offset, limit=MAX_EXAMPLES_PER_PAGE,
                                            where=where)
        version = page.version  # every page from the version the first one read
        records.extend(example.record for example in page.examples)
        offset = page.next_offset
    return records


async def examples_to_label(state: SharedState, dataset: str, *, sample: int = 0, scorer: str | None = None,
                            rng: random.Random | None = None) -> ToLabel:
    """The dataset's unlabeled examples (a random ``sample`` of them when positive, in dataset order)."""
    records = await live_records(state, dataset, scorer)
    labeled = {label.record_id for label in await state.dataset_labels(dataset)}
    unlabeled = [r for r in records if r.id not in labeled]
    chosen = unlabeled
    if 0 < sample < len(unlabeled):
        picked = set((rng or random.Random()).sample(range(len(unlabeled)), sample))
        chosen = [r for i, r in enumerate(unlabeled) if i in picked]
    return ToLabel(chosen, len(unlabeled), len(records) - len(unlabeled))


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
