"""Which version of an uploaded scorer production runs (its *current* version), and which one runs beside
it in shadow, shared by every replica.

A scorer without a pointer row behaves as before pointers existed: its latest version is current. A row
holds an explicit current version (after ``judgeval scorers promote``) and/or a shadow version (``judgeval
upload_scorer --shadow``, ``judgeval scorers shadow NAME@V``). Without an explicit current version the
current one is the latest version that is not the shadow, so a version uploaded in shadow never becomes
what production runs until it is promoted. A plain upload of a new version clears an explicit current
version (the latest is current again, as it always was); an upload in shadow sets the shadow in the same
transaction as the version itself, so no replica ever runs the new version in production, not even for a
moment. Every change bumps the change counter, so all replicas follow within their refresh interval, and
each promotion is kept in a history with who made it and when.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from judgeval.semconv import scorer_key

from evaluator_service.errors import EvaluatorError
from evaluator_service.state import loop_schema, schema
from evaluator_service.state.transaction import Transaction, TransactionSource


class PointerRefused(EvaluatorError):
    """A shadow or promotion that cannot be done as asked (unknown version, shadowing the current one,
    nothing to shadow); the message says what to do instead."""


class UnknownScorerVersion(PointerRefused):
    """The scorer, or the version of it, a shadow or promotion names is not stored."""


@dataclass(frozen=True, slots=True)
class ScorerPointer:
    """The stored pointers of one scorer name (a missing row is ``ScorerPointer(name)``)."""

    name: str
    current_version: int | None = None
    """Set by a promotion, and pinned when a shadow starts or stops (so that neither the shadow version nor
    one shadowed before ever becomes current by itself); ``None``: the latest non-shadow version is current
    (a plain upload of a new version sets it back to ``None``)."""
    shadow_version: int | None = None
    shadow_by: str = ""
    shadow_since: float | None = None
    promoted_by: str = ""
    promoted_at: float | None = None


@dataclass(frozen=True, slots=True)
class Promotion:
    """One ``judgeval scorers promote``: which version became current, replacing which, by whom, when."""

    name: str
    version: int
    previous_version: int | None
    by: str
    at: float


def effective_current(versions: Sequence[int], pointer: ScorerPointer | None) -> int | None:
    """The version unpinned requests run: the promoted one while it exists, else the latest version that is
    not in shadow (else the latest of all, if only the shadow version is left)."""
    if not versions:
        return None
    if pointer is not None and pointer.current_version in versions:
        return pointer.current_version
    shadow = pointer.shadow_version if pointer is not None else None
    live = [v for v in versions if v != shadow]
    return max(live) if live else max(versions)


class ScorerPointerState(Protocol):
    """The current/shadow part of :class:`~evaluator_service.state.contract.SharedState`."""

    async def scorer_pointers(self) -> list[ScorerPointer]:
        """Every stored pointer row, by name."""
        ...

    async def start_shadow(self, name: str, version: int, by: str, at: float) -> ScorerPointer:
        """Run ``version`` of ``name`` in shadow (replacing another shadow version); raises
        :class:`PointerRefused` for an unknown version or the current one."""
        ...

    async def stop_shadow(self, name: str, by: str) -> ScorerPointer:
        """Stop the shadow of ``name`` (returns the row as it was); :class:`PointerRefused` if none runs."""
        ...

    async def promote(self, name: str, version: int, by: str, at: float) -> Promotion:
        """Make ``version`` current (stopping its shadow); :class:`PointerRefused` for an unknown version."""
        ...

    async def promotions(self, name: str, limit: int = 20) -> list[Promotion]:
        """The latest promotions of ``name``, newest first."""
        ...


class SqlScorerPointers(TransactionSource):
    """:class:`ScorerPointerState` over the backend's transactions; every change bumps the change counter."""

    async def scorer_pointers(self) -> list[ScorerPointer]:
        async with self._transaction() as tx:
            return [_pointer(row) for row in await tx.execute(loop_schema.SELECT_SCORER_POINTERS)]

    async def start_shadow(self, name: str, version: int, by: str, at: float) -> ScorerPointer:
        async with self._transaction() as tx:
            await tx.lock(_lock_key(name))
            versions = await _versions(tx, name)
            pointer = await _read(tx, name)
            _require_version(name, version, versions)
            current = effective_current(versions, pointer)
            if version == current:
                raise PointerRefused(f"version {version} of scorer {name!r} is its current version; shadow "
                                     "another version (or upload one with --shadow)")
            await _set_shadow(tx, name, version, by, at, current)
            return await _read(tx, name)

    async def stop_shadow(self, name: str, by: str) -> ScorerPointer:
        async with self._transaction() as tx:
            await tx.lock(_lock_key(name))
            pointer = await _read(tx, name)
            if pointer.shadow_version is None:
                raise PointerRefused(f"scorer {name!r} has no version in shadow")
            current = effective_current(await _versions(tx, name), pointer)
            await tx.execute(loop_schema.CLEAR_SCORER_SHADOW, (current, name))
            await tx.execute(schema.BUMP_COUNTER)
            return pointer

    async def promote(self, name: str, version: int, by: str, at: float) -> Promotion:
        async with self._transaction() as tx:
            await tx.lock(_lock_key(name))
            versions = await _versions(tx, name)
            pointer = await _read(tx, name)
            _require_version(name, version, versions)
            previous = effective_current(versions, pointer)
            shadow = None if pointer.shadow_version == version else pointer.shadow_version
            await tx.execute(loop_schema.PROMOTE_SCORER, (name, version, shadow, by, at))
            promotion = Promotion(name, version, previous, by, at)
            await tx.execute(loop_schema.INSERT_SCORER_PROMOTION, (name, version, previous, by, at))
            await tx.execute(schema.BUMP_COUNTER)
            return promotion

    async def promotions(self, name: str, limit: int = 20) -> list[Promotion]:
        async with self._transaction() as tx:
            rows = await tx.execute(loop_schema.SELECT_SCORER_PROMOTIONS, (name, limit))
        return [Promotion(str(n), int(v), None if p is None else int(p), str(b), float(a))
                for n, v, p, b, a in rows]


async def point_after_upload(tx: Transaction, name: str, version: int, is_new: bool, *,
                             shadow: bool, by: str, at: float) -> None:
    """Inside the upload's transaction (see :meth:`SqlScorerVersions.store_version`): an upload in shadow
    becomes the shadow version (refused when there is no other version to compare with, or when it would
    replace the current version's code); a plain upload of a new version makes the latest current again."""
    if shadow:
        versions = await _versions(tx, name)  # the uploaded version included
        pointer = await _read(tx, name)
        current = effective_current([v for v in versions if not (is_new and v == version)], pointer)
        if not is_new and version == current:
            raise PointerRefused(f"version {version} of scorer {name!r} is its current version: an "
                                 "overwrite in shadow would change what production runs; upload with "
                                 "--new-version --shadow instead")
        if not [v for v in versions if v != version]:
            raise PointerRefused(f"scorer {name!r} has no current version for a shadow to be compared with; "
                                 "upload it without --shadow first")
        await _set_shadow(tx, name, version, by, at, current)
    elif is_new:
        await tx.execute(loop_schema.CLEAR_SCORER_CURRENT, (name,))


async def forget_deleted(tx: Transaction, name: str, version: int | None) -> None:
    """Inside a delete's transaction: pointers to a deleted version (or to any, when all are) go."""
    if version is None:
        await tx.execute(loop_schema.DELETE_SCORER_POINTER, (name,))
        return
    await tx.execute(loop_schema.CLEAR_DELETED_SHADOW, (name, version))
    await tx.execute(loop_schema.CLEAR_DELETED_CURRENT, (name, version))


def _lock_key(name: str) -> str:
    return scorer_key(name)  # the same lock uploads and deletes of the name take


async def _set_shadow(tx: Transaction, name: str, version: int, by: str, at: float, current: int | None
                      ) -> None:
    """Shadow ``version``, pinning the current version (if not pinned yet) so what production runs stays."""
    await tx.execute(loop_schema.SET_SCORER_SHADOW, (name, current, version, by, at))
    await tx.execute(schema.BUMP_COUNTER)


async def _versions(tx: Transaction, name: str) -> list[int]:
    return [int(row[0]) for row in await tx.execute(loop_schema.SELECT_VERSION_NUMBERS_OF, (name,))]


async def _read(tx: Transaction, name: str) -> ScorerPointer:
    rows = await tx.execute(loop_schema.SELECT_SCORER_POINTER, (name,))
    return _pointer(rows[0]) if rows else ScorerPointer(name)


def _require_version(name: str, version: int, versions: list[int]) -> None:
    if version in versions:
        return
    if not versions:
        raise UnknownScorerVersion(f"no scorer named {name!r}; upload it with `judgeval upload_scorer` first")
    raise UnknownScorerVersion(f"scorer {name!r} has no version {version} (versions: "
                         f"{', '.join(str(v) for v in versions)})")


def _pointer(row: tuple[Any, ...]) -> ScorerPointer:
    name, current, shadow, shadow_by, shadow_since, promoted_by, promoted_at = row
    return ScorerPointer(
        name=str(name), current_version=None if current is None else int(current),
        shadow_version=None if shadow is None else int(shadow), shadow_by=str(shadow_by or ""),
        shadow_since=None if shadow_since is None else float(shadow_since),
        promoted_by=str(promoted_by or ""), promoted_at=None if promoted_at is None else float(promoted_at))
