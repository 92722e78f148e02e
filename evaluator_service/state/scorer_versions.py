"""Uploaded scorers in the shared state: metadata, source and requirements text of every version, so any
replica can run a scorer uploaded through another replica's admin API.

A new version is chosen inside the writing transaction, under a lock on the scorer's attribute key, by a
:data:`VersionChooser` the registry passes in: two replicas uploading the same name never get the same
version, and the rule for choosing stays with the registry.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from judgeval.semconv import scorer_key

from evaluator_service.state import schema
from evaluator_service.state.scorer_pointers import forget_deleted, point_after_upload
from evaluator_service.state.scorer_version_numbers import unused_version
from evaluator_service.state.transaction import TransactionSource


@dataclass(frozen=True, slots=True)
class StoredScorer:
    """Metadata of one stored scorer version."""

    name: str
    version: int
    sha256: str
    created_at: float
    class_name: str
    source_filename: str
    requirements_hash: str
    kind: str = "example"
    """``example`` (an ``ExampleScorer``, scores spans) or ``trace`` (a ``TraceScorer``, scores trajectories);
    see :mod:`judgeval.scorers.source_check`."""


@dataclass(frozen=True, slots=True)
class ScorerFiles:
    """The uploaded text of one scorer version (source is at most 1 MiB, requirements 64 KiB)."""

    source: str
    requirements: str


VersionChooser = Callable[[list[StoredScorer]], int]
"""Given every stored version whose name shares the new scorer's attribute key, return the version number
to write, or raise to refuse the upload. Called inside the allocating transaction, so it sees a stable set. A
new number is then raised above every number the name ever used
(:mod:`~evaluator_service.state.scorer_version_numbers`): numbers are never reused after a delete."""


class ScorerVersionState(Protocol):
    """The uploaded-scorer part of :class:`~evaluator_service.state.contract.SharedState`."""

    async def scorer_versions(self) -> list[StoredScorer]:
        """Metadata of every stored scorer version, by name then version."""
        ...

    async def scorer_files(self, name: str, version: int) -> tuple[StoredScorer, ScorerFiles] | None:
        """Metadata and text of one version, or ``None`` if it is gone."""
        ...

    async def store_version(self, draft: StoredScorer, files: ScorerFiles, choose: VersionChooser, *,
                            shadow: bool = False, by: str = "") -> StoredScorer:
        """Write ``draft`` under the version ``choose`` picks (insert, or replace on overwrite), atomically
        with the choice: two replicas uploading the same name never get the same new version. With
        ``shadow`` the version runs in shadow instead of becoming current (see
        :mod:`~evaluator_service.state.scorer_pointers`; ``PointerRefused`` when it cannot)."""
        ...

    async def delete_versions(self, name: str, version: int | None) -> list[StoredScorer]:
        """Delete one version (or all when ``version`` is ``None``); returns what was deleted."""
        ...


class SqlScorerVersions(TransactionSource):
    """:class:`ScorerVersionState` over the backend's transactions; writes bump the change counter."""

    async def scorer_versions(self) -> list[StoredScorer]:
        async with self._transaction() as tx:
            return [_stored(row) for row in await tx.execute(schema.SELECT_VERSIONS)]

    async def scorer_files(self, name: str, version: int) -> tuple[StoredScorer, ScorerFiles] | None:
        async with self._transaction() as tx:
            rows = await tx.execute(schema.SELECT_FILES, (name, version))
        if not rows:
            return None
        row = rows[0]
        return _stored(row[:8]), ScorerFiles(source=str(row[8]), requirements=str(row[9]))

    async def store_version(self, draft: StoredScorer, files: ScorerFiles, choose: VersionChooser, *,
                            shadow: bool = False, by: str = "") -> StoredScorer:
        key = scorer_key(draft.name)
        async with self._transaction() as tx:
            await tx.lock(key)
            same_key = [_stored(row) for row in await tx.execute(schema.SELECT_VERSIONS_BY_KEY, (key,))]
            own = [s.version for s in same_key if s.name == draft.name]
            version = await unused_version(tx, draft.name, choose(same_key), own)
            stored = dataclasses.replace(draft, version=version)
            is_new = version not in own
            await tx.execute(schema.UPSERT_VERSION, (
                stored.name, stored.version, stored.sha256, stored.created_at, stored.class_name,
                stored.source_filename, stored.requirements_hash, key, files.source, files.requirements,
            ))
            await tx.execute(schema.UPSERT_KIND, (stored.name, stored.version, stored.kind))
            await point_after_upload(tx, stored.name, stored.version, is_new, shadow=shadow, by=by,
                                     at=stored.created_at)
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
                    await tx.execute(schema.DELETE_ALL_KINDS, (name,))
                else:
                    await tx.execute(schema.DELETE_VERSION, (name, version))
                    await tx.execute(schema.DELETE_KIND, (name, version))
                await forget_deleted(tx, name, version)
                await tx.execute(schema.BUMP_COUNTER)
        return targets


def _stored(row: tuple[Any, ...]) -> StoredScorer:
    name, version, sha256, created_at, class_name, source_filename, requirements_hash, kind = row
    return StoredScorer(name=str(name), version=int(version), sha256=str(sha256),
                        created_at=float(created_at), class_name=str(class_name),
                        source_filename=str(source_filename), requirements_hash=str(requirements_hash),
                        kind=str(kind))
