"""Named, versioned datasets of interaction records in the shared state.

A dataset holds :class:`~judgeval.protocol.interaction_record.InteractionRecord` s (one scorer's result on
one span, with the example it read). Its ``version`` starts at 0 (empty) and grows by one with each change
that adds or removes at least one example; each example row remembers the version that added it and the one
that removed it, so reading ``NAME@V`` returns exactly what the dataset held at version ``V``. Adding is
idempotent per record id (trace:span:scorer): the same span scored again is not a second example while the
first one is in the dataset. Retention (``max_examples``, ``max_age_s``) removes the oldest examples (by the
record's ``at``) as a new version. Every change of one dataset runs under that dataset's lock, so two
replicas never hand out the same version. Examples are read a keyset page at a time
(:class:`~evaluator_service.state.dataset_values.ExampleCursor`); the values are in
:mod:`~evaluator_service.state.dataset_values`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Protocol

from judgeval.protocol.interaction_record import InteractionRecord

from evaluator_service.state import dataset_schema
from evaluator_service.state.dataset_values import (
    MAX_EXAMPLES_PER_PAGE,
    DatasetChange,
    DatasetExample,
    DatasetInfo,
    DatasetSettings,
    DatasetVersion,
    ExampleCursor,
    ExampleFilter,
    ExamplePage,
    UnknownDataset,
)
from evaluator_service.state.transaction import Transaction, TransactionSource


class DatasetState(Protocol):
    """The dataset part of the shared state. Names are checked by callers
    (:func:`judgeval.protocol.dataset_ref.dataset_name_problem`)."""

    async def ensure_dataset(self, name: str, settings: DatasetSettings, now: float) -> DatasetInfo:
        """Create the dataset if missing; otherwise replace its settings. Never changes the version."""
        ...

    async def datasets(self) -> list[DatasetInfo]:
        """Every dataset at its current version, by name."""
        ...

    async def dataset(self, name: str, version: int | None = None) -> DatasetInfo:
        """The dataset at ``version`` (current if ``None``); :class:`UnknownDataset` if absent."""
        ...

    async def dataset_versions(self, name: str) -> list[DatasetVersion]:
        """The dataset's changes, oldest first; :class:`UnknownDataset` if absent."""
        ...

    async def add_dataset_examples(self, name: str, records: Sequence[InteractionRecord], now: float,
                                   note: str = "") -> DatasetChange:
        """Add the records not already in the dataset (creating it with default settings if missing), as
        one new version when any is new."""
        ...

    async def remove_dataset_examples(self, name: str, record_ids: Sequence[str], now: float,
                                      note: str = "") -> DatasetChange:
        """Remove the listed examples present now, as one new version when any was; :class:`UnknownDataset`
        if the dataset is absent."""
        ...

    async def apply_dataset_retention(self, name: str, now: float) -> DatasetChange:
        """Remove examples beyond ``max_examples`` (oldest first) and older than ``max_age_s``, as one new
        version when any was removed."""
        ...

    async def dataset_examples(self, name: str, version: int | None = None, *,
                               after: ExampleCursor | None = None, limit: int = 100,
                               where: ExampleFilter | None = None) -> ExamplePage:
        """A page of the examples at ``version`` (current if ``None``; the page says which, so the next
        page can ask for the same one) that come after ``after``; :class:`UnknownDataset` if absent or
        ``version`` is in the future."""
        ...

    async def count_dataset_examples(self, name: str, version: int | None = None,
                                     where: ExampleFilter | None = None) -> int:
        """How many examples ``version`` (current if ``None``) holds that match ``where``."""
        ...

    async def delete_dataset(self, name: str) -> bool:
        """Drop the dataset with its examples and history; ``False`` if it did not exist."""
        ...


def _lock_key(name: str) -> str:
    return f"judgeval-dataset:{name}"


class SqlDatasetRows(TransactionSource):
    """:class:`DatasetState` over the backend's transactions."""

    async def ensure_dataset(self, name: str, settings: DatasetSettings, now: float) -> DatasetInfo:
        async with self._transaction() as tx:
            await tx.lock(_lock_key(name))
            await tx.execute(dataset_schema.INSERT_DATASET, (name, settings.description, now, now,
                                                     settings.max_examples, settings.max_age_s))
            await tx.execute(dataset_schema.UPDATE_DATASET_SETTINGS,
                             (settings.description, settings.max_examples, settings.max_age_s, name))
            return await _info(tx, name, None)

    async def datasets(self) -> list[DatasetInfo]:
        async with self._transaction() as tx:
            rows = await tx.execute(dataset_schema.SELECT_DATASETS)
            counts = {str(d): int(c) for d, c in await tx.execute(dataset_schema.COUNT_LIVE_DATASET_EXAMPLES)}
        return [_info_of(row, None, counts.get(str(row[0]), 0)) for row in rows]

    async def dataset(self, name: str, version: int | None = None) -> DatasetInfo:
        async with self._transaction() as tx:
            return await _info(tx, name, version)

    async def dataset_versions(self, name: str) -> list[DatasetVersion]:
        async with self._transaction() as tx:
            await _current(tx, name)
            rows = await tx.execute(dataset_schema.SELECT_DATASET_VERSIONS, (name,))
        return [DatasetVersion(int(v), float(at), int(a), int(r), str(note)) for v, at, a, r, note in rows]

    async def add_dataset_examples(self, name: str, records: Sequence[InteractionRecord], now: float,
                                   note: str = "") -> DatasetChange:
        async with self._transaction() as tx:
            await tx.lock(_lock_key(name))
            await tx.execute(dataset_schema.INSERT_DATASET, (name, "", now, now, None, None))
            version = await _current(tx, name) + 1
            added, unchanged, seen = 0, 0, set()
            for record in records:
                rid = record.id
                if rid in seen or await tx.execute(dataset_schema.SELECT_LIVE_DATASET_EXAMPLE, (name, rid)):
                    unchanged += 1
                    continue
                seen.add(rid)
                await tx.execute(dataset_schema.INSERT_DATASET_EXAMPLE, (
                    name, rid, version, record.scorer, None if record.passed is None else int(record.passed),
                    record.behavior_id, float(record.at), json.dumps(record.to_json(), sort_keys=True)))
                added += 1
            if not added:
                return DatasetChange(version - 1, unchanged=unchanged)
            await _new_version(tx, name, version, now, added, 0, note or "added")
        return DatasetChange(version, added=added, unchanged=unchanged)

    async def remove_dataset_examples(self, name: str, record_ids: Sequence[str], now: float,
                                      note: str = "") -> DatasetChange:
        async with self._transaction() as tx:
            await tx.lock(_lock_key(name))
            return await _remove(tx, name, list(dict.fromkeys(record_ids)), now, note or "removed")

    async def apply_dataset_retention(self, name: str, now: float) -> DatasetChange:
        async with self._transaction() as tx:
            await tx.lock(_lock_key(name))
            info = await _info(tx, name, None)
            doomed: list[str] = []
            if info.max_age_s is not None:
                rows = await tx.execute(dataset_schema.SELECT_LIVE_DATASET_IDS_BEFORE,
                                        (name, now - info.max_age_s))
                doomed.extend(str(r[0]) for r in rows)
            if info.max_examples is not None:
                rows = await tx.execute(dataset_schema.SELECT_LIVE_DATASET_IDS_NEWEST_FIRST, (name,))
                doomed.extend(str(r[0]) for r in rows[max(0, info.max_examples):])
            return await _remove(tx, name, list(dict.fromkeys(doomed)), now, "retention")

    async def dataset_examples(self, name: str, version: int | None = None, *,
                               after: ExampleCursor | None = None, limit: int = 100,
                               where: ExampleFilter | None = None) -> ExamplePage:
        bounded = max(1, min(int(limit), MAX_EXAMPLES_PER_PAGE))
        async with self._transaction() as tx:
            at = await _version(tx, name, version)
            sql, params = _filtered(dataset_schema.SELECT_DATASET_EXAMPLES_AT, [name, at, at], where)
            if after is not None:
                sql, params = sql + dataset_schema.DATASET_EXAMPLES_AFTER, [*params, after.at, after.at,
                                                                         after.record_id]
            rows = await tx.execute(sql + dataset_schema.DATASET_EXAMPLES_PAGE, (*params, bounded + 1))
        examples = [DatasetExample(InteractionRecord.from_json(json.loads(rec)), int(a),
                                   None if r is None else int(r)) for rec, a, r, *_ in rows[:bounded]]
        last = rows[bounded - 1] if len(rows) > bounded else None
        after_last = None if last is None else ExampleCursor(float(last[3]), str(last[4]))
        return ExamplePage(at, examples, after_last)

    async def count_dataset_examples(self, name: str, version: int | None = None,
                                     where: ExampleFilter | None = None) -> int:
        async with self._transaction() as tx:
            at = await _version(tx, name, version)
            sql, params = _filtered(dataset_schema.COUNT_DATASET_EXAMPLES_AT, [name, at, at], where)
            return int((await tx.execute(sql, tuple(params)))[0][0])

    async def delete_dataset(self, name: str) -> bool:
        async with self._transaction() as tx:
            await tx.lock(_lock_key(name))
            if not await tx.execute(dataset_schema.SELECT_DATASET, (name,)):
                return False
            for statement in (dataset_schema.DELETE_DATASET_EXAMPLES, dataset_schema.DELETE_DATASET_VERSIONS,
                              dataset_schema.DELETE_DATASET):
                await tx.execute(statement, (name,))
        return True


def _filtered(sql: str, params: list[Any], where: ExampleFilter | None) -> tuple[str, list[Any]]:
    if where is None:
        return sql, params
    if where.scorer is not None:
        sql, params = sql + dataset_schema.DATASET_EXAMPLES_BY_SCORER, [*params, where.scorer]
    if where.outcome == "error":
        sql += dataset_schema.DATASET_EXAMPLES_ERRORS
    elif where.outcome in ("passed", "failed"):
        sql, params = sql + dataset_schema.DATASET_EXAMPLES_PASSED, [*params, int(where.outcome == "passed")]
    if where.behavior_id is not None:
        sql, params = sql + dataset_schema.DATASET_EXAMPLES_BY_BEHAVIOR, [*params, where.behavior_id]
    if where.unlabeled:
        sql += dataset_schema.DATASET_EXAMPLES_UNLABELED
    return sql, params


async def _current(tx: Transaction, name: str) -> int:
    rows = await tx.execute(dataset_schema.SELECT_DATASET, (name,))
    if not rows:
        raise UnknownDataset(f"no dataset named {name!r}")
    return int(rows[0][4])


async def _version(tx: Transaction, name: str, version: int | None) -> int:
    """``version`` (the current one if ``None``) after checking the dataset had it."""
    latest = await _current(tx, name)
    at = latest if version is None else int(version)
    if at < 0 or at > latest:
        raise UnknownDataset(f"dataset {name!r} has no version {at} (its latest is {latest})")
    return at


async def _info(tx: Transaction, name: str, version: int | None) -> DatasetInfo:
    at = await _version(tx, name, version)
    rows = await tx.execute(dataset_schema.SELECT_DATASET, (name,))
    count = await tx.execute(dataset_schema.COUNT_DATASET_EXAMPLES_AT, (name, at, at))
    return _info_of(rows[0], at, int(count[0][0]))


def _info_of(row: Sequence[Any], version: int | None, count: int) -> DatasetInfo:
    name, description, created, updated, latest, max_examples, max_age = row
    return DatasetInfo(
        name=str(name), description=str(description), created_at=float(created), updated_at=float(updated),
        version=int(latest) if version is None else version, latest_version=int(latest), example_count=count,
        max_examples=None if max_examples is None else int(max_examples),
        max_age_s=None if max_age is None else float(max_age))


async def _new_version(tx: Transaction, name: str, version: int, now: float, added: int, removed: int,
                       note: str) -> None:
    await tx.execute(dataset_schema.SET_DATASET_VERSION, (version, now, name))
    await tx.execute(dataset_schema.INSERT_DATASET_VERSION, (name, version, now, added, removed, note))


async def _remove(tx: Transaction, name: str, record_ids: list[str], now: float, note: str) -> DatasetChange:
    version = await _current(tx, name) + 1
    removed = 0
    for rid in record_ids:
        if await tx.execute(dataset_schema.SELECT_LIVE_DATASET_EXAMPLE, (name, rid)):
            await tx.execute(dataset_schema.REMOVE_DATASET_EXAMPLE, (version, name, rid))
            removed += 1
    if not removed:
        return DatasetChange(version - 1)
    await _new_version(tx, name, version, now, 0, removed, note)
    return DatasetChange(version, removed=removed)
