"""One implementation of :class:`~evaluator_service.state.contract.SharedState` over any SQL backend.

A backend supplies :meth:`SqlSharedState._transaction`: an async context manager yielding a
:class:`Transaction` that commits on normal exit and rolls back on an exception. Everything else (which
statements, in which order, the change counter) is written once here, so both backends behave alike.
"""

from __future__ import annotations

import dataclasses
import time
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from judgeval.semconv import scorer_key

from evaluator_service.state import schema
from evaluator_service.state.alert_state import SqlAlertState
from evaluator_service.state.behavior_rows import SqlBehaviorRows
from evaluator_service.state.contract import PausedScorer, ScorerFiles, StoredScorer, VersionChooser


class Transaction(Protocol):
    """Statements run inside one database transaction."""

    async def execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run one statement; returns its rows (empty for statements without a result)."""
        ...

    async def lock(self, key: str) -> None:
        """Serialize writers of ``key`` until the transaction ends (no-op where writes are serialized)."""
        ...


class SqlSharedState(SqlAlertState, SqlBehaviorRows):
    """Shared-state operations; subclasses connect and provide transactions."""

    display_url = ""

    def _transaction(self) -> AbstractAsyncContextManager[Transaction]:
        raise NotImplementedError

    async def change_counter(self) -> int:
        async with self._transaction() as tx:
            rows = await tx.execute(schema.READ_COUNTER)
        return int(rows[0][0]) if rows else 0

    async def pause(self, name: str, reason: str) -> None:
        async with self._transaction() as tx:
            await tx.execute(schema.UPSERT_PAUSE, (name, reason, time.time()))
            await tx.execute(schema.BUMP_COUNTER)

    async def resume(self, name: str) -> bool:
        async with self._transaction() as tx:
            was_paused = bool(await tx.execute(schema.SELECT_PAUSES_NAMED, (name,)))
            if was_paused:
                await tx.execute(schema.DELETE_PAUSE, (name,))
                await tx.execute(schema.BUMP_COUNTER)
        return was_paused

    async def paused_scorers(self) -> list[PausedScorer]:
        async with self._transaction() as tx:
            rows = await tx.execute(schema.SELECT_PAUSES)
        return [PausedScorer(str(n), str(r), float(t)) for n, r, t in rows]

    async def scorer_versions(self) -> list[StoredScorer]:
        async with self._transaction() as tx:
            return [_stored(row) for row in await tx.execute(schema.SELECT_VERSIONS)]

    async def scorer_files(self, name: str, version: int) -> tuple[StoredScorer, ScorerFiles] | None:
        async with self._transaction() as tx:
            rows = await tx.execute(schema.SELECT_FILES, (name, version))
        if not rows:
            return None
        row = rows[0]
        return _stored(row[:7]), ScorerFiles(source=str(row[7]), requirements=str(row[8]))

    async def store_version(self, draft: StoredScorer, files: ScorerFiles, choose: VersionChooser
                            ) -> StoredScorer:
        key = scorer_key(draft.name)
        async with self._transaction() as tx:
            await tx.lock(key)
            same_key = [_stored(row) for row in await tx.execute(schema.SELECT_VERSIONS_BY_KEY, (key,))]
            stored = dataclasses.replace(draft, version=choose(same_key))
            await tx.execute(schema.UPSERT_VERSION, (
                stored.name, stored.version, stored.sha256, stored.created_at, stored.class_name,
                stored.source_filename, stored.requirements_hash, key, files.source, files.requirements,
            ))
            await tx.execute(schema.BUMP_COUNTER)
        return stored

    async def delete_versions(self, name: str, version: int | None) -> list[StoredScorer]:
        async with self._transaction() as tx:
            await tx.lock(scorer_key(name))
            existing = [_stored(row) for row in await tx.execute(schema.SELECT_VERSIONS_OF, (name,))]
            targets = [s for s in existing if version is None or s.version == version]
            if targets:
                if version is None:
                    await tx.execute(schema.DELETE_ALL_VERSIONS, (name,))
                else:
                    await tx.execute(schema.DELETE_VERSION, (name, version))
                await tx.execute(schema.BUMP_COUNTER)
        return targets


def _stored(row: tuple[Any, ...]) -> StoredScorer:
    name, version, sha256, created_at, class_name, source_filename, requirements_hash = row
    return StoredScorer(name=str(name), version=int(version), sha256=str(sha256),
                        created_at=float(created_at), class_name=str(class_name),
                        source_filename=str(source_filename), requirements_hash=str(requirements_hash))
