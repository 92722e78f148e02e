"""Human labels on dataset examples: does this interaction pass or fail, in a person's judgement.

A label is keyed by the dataset and the record's stable id (``trace:span:scorer``, see
:func:`judgeval.protocol.interaction_record.record_id`); labeling the same record again replaces the label.
Each row also keeps the scorer and what the judge said when the person labeled it (``judge_passed``), so
the judge's agreement with people stays computable after the dataset's retention has dropped the record.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from judgeval.protocol.interaction_record import InteractionRecord

from evaluator_service.state import dataset_schema
from evaluator_service.state.transaction import TransactionSource


class HumanLabel(StrEnum):
    """A person's verdict on one interaction."""

    PASS = "pass"
    FAIL = "fail"


@dataclass(frozen=True, slots=True)
class DatasetLabel:
    """One person's label on one dataset record, beside the judge's verdict on it."""

    dataset: str
    record_id: str
    scorer: str
    label: HumanLabel
    judge_passed: bool | None
    """The scorer's verdict on the record (``None``: it produced no score, e.g. a timeout)."""
    labeler: str = ""
    note: str = ""
    at: float = 0.0


class DatasetLabelState(Protocol):
    """The labels part of :class:`~evaluator_service.state.contract.SharedState`."""

    async def put_labels(self, labels: Sequence[DatasetLabel]) -> None:
        """Store ``labels`` in one transaction (a record labeled again gets the new label)."""
        ...

    async def delete_label(self, dataset: str, record_id: str) -> bool:
        """Remove one label; ``False`` if there was none."""
        ...

    async def dataset_labels(self, dataset: str) -> list[DatasetLabel]:
        """Every label of ``dataset``, oldest first."""
        ...

    async def scorer_labels(self, scorer: str, dataset: str | None = None) -> list[DatasetLabel]:
        """Every label on records of ``scorer`` (in every dataset, or only ``dataset``), oldest first."""
        ...

    async def labeled_scorers(self) -> list[str]:
        """Every scorer with at least one label, by name."""
        ...

    async def live_dataset_records(self, dataset: str, record_ids: Sequence[str]
                                   ) -> dict[str, InteractionRecord]:
        """The records among ``record_ids`` that are examples of the dataset's current version, by id."""
        ...


class SqlDatasetLabels(TransactionSource):
    """:class:`DatasetLabelState` over the backend's transactions."""

    async def put_labels(self, labels: Sequence[DatasetLabel]) -> None:
        if not labels:
            return
        async with self._transaction() as tx:
            for label in labels:
                judge = None if label.judge_passed is None else int(label.judge_passed)
                await tx.execute(dataset_schema.UPSERT_DATASET_LABEL, (
                    label.dataset, label.record_id, label.scorer, label.label.value, judge, label.labeler,
                    label.note, label.at))

    async def delete_label(self, dataset: str, record_id: str) -> bool:
        async with self._transaction() as tx:
            existed = any(row[1] == record_id
                          for row in await tx.execute(dataset_schema.SELECT_DATASET_LABELS, (dataset,)))
            if existed:
                await tx.execute(dataset_schema.DELETE_DATASET_LABEL, (dataset, record_id))
        return existed

    async def dataset_labels(self, dataset: str) -> list[DatasetLabel]:
        async with self._transaction() as tx:
            rows = await tx.execute(dataset_schema.SELECT_DATASET_LABELS, (dataset,))
        return [_label(row) for row in rows]

    async def scorer_labels(self, scorer: str, dataset: str | None = None) -> list[DatasetLabel]:
        async with self._transaction() as tx:
            if dataset is None:
                rows = await tx.execute(dataset_schema.SELECT_SCORER_LABELS, (scorer,))
            else:
                rows = await tx.execute(dataset_schema.SELECT_SCORER_LABELS_IN, (scorer, dataset))
        return [_label(row) for row in rows]

    async def labeled_scorers(self) -> list[str]:
        async with self._transaction() as tx:
            rows = await tx.execute(dataset_schema.SELECT_LABELED_SCORERS)
        return [str(row[0]) for row in rows]


    async def live_dataset_records(self, dataset: str, record_ids: Sequence[str]
                                   ) -> dict[str, InteractionRecord]:
        found: dict[str, InteractionRecord] = {}
        async with self._transaction() as tx:
            for record_id in dict.fromkeys(record_ids):
                rows = await tx.execute(dataset_schema.SELECT_LIVE_DATASET_RECORD, (dataset, record_id))
                if rows:
                    found[record_id] = InteractionRecord.from_json(json.loads(rows[0][0]))
        return found


def _label(row: Sequence[Any]) -> DatasetLabel:
    dataset, record_id, scorer, label, judge, labeler, note, at = row
    return DatasetLabel(str(dataset), str(record_id), str(scorer), HumanLabel(str(label)),
                        None if judge is None else bool(judge), str(labeler), str(note), float(at))
