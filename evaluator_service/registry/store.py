"""The scorer registry: versioned uploaded scorers in the shared state database, cached per replica.

The database (``state_db``) holds every version's metadata, source and requirements, so a scorer uploaded
through one replica's admin API runs on all of them. Each replica keeps:

* an in-memory index of the metadata, because :meth:`Registry.find` runs for every scored span and must
  not do I/O; a :class:`~evaluator_service.state.ChangeWatcher` refreshes it within about a second of
  another replica's upload or delete;
* a file cache of the text it has used, under its data directory (mode 0700, so sandboxed scorer code,
  which runs as another user, cannot read it): :mod:`~evaluator_service.registry.file_cache`.

Which version an upload gets (upload modes, name clashes) is
:mod:`~evaluator_service.registry.upload_versions`.

Environments live outside the data directory (``envs_dir``, default ``<data_dir>-scorer-envs``) because the
sandbox user must be able to run them; each replica builds its own from the stored requirements.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from pathlib import Path

from judgeval.semconv import scorer_key

from evaluator_service.errors import EvaluatorError
from evaluator_service.registry.environments import EnvironmentInstaller
from evaluator_service.registry.file_cache import ScorerFileCache
from evaluator_service.registry.upload_versions import ScorerExists, UploadMode, choose_version
from evaluator_service.registry.validation import validate_upload
from evaluator_service.state import (
    ChangeWatcher,
    ScorerFiles,
    SharedState,
    SqliteSharedState,
    StoredScorer,
    default_state_url,
    sqlite_path,
)
from evaluator_service.state.scorer_pointers import (
    PointerRefused,
    Promotion,
    ScorerPointer,
    effective_current,
)

__all__ = ["PointerRefused", "Registry", "ScorerExists", "ScorerNotFound", "StoredScorer", "UploadMode"]


class ScorerNotFound(EvaluatorError, LookupError):
    """No scorer (or no such version of it) is stored."""


class Registry:
    """Versioned store of uploaded scorers over a :class:`~evaluator_service.state.SharedState` (default:
    SQLite in ``<data_dir>/state.sqlite3``). Call :meth:`start` (or any async method) before relying on the
    sync readers; ``on_change`` listeners hear every scorer whose stored code changed or was deleted,
    whichever replica did it."""

    def __init__(self, data_dir: Path, *, state: SharedState | None = None, envs_dir: Path | None = None,
                 installer: EnvironmentInstaller | None = None, refresh_interval_s: float = 1.0) -> None:
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.data_dir, 0o700)
        self.files = ScorerFileCache(self.data_dir / "scorers")
        self.root = self.files.root
        envs = envs_dir or self.data_dir.with_name(f"{self.data_dir.name}-scorer-envs")
        self.installer = installer or EnvironmentInstaller(Path(envs))
        self._owns_state = state is None
        self.state: SharedState = state or SqliteSharedState(
            sqlite_path(default_state_url(self.data_dir)) or self.data_dir)
        self._opened = False
        self._watcher = ChangeWatcher(self.state, self._reload, refresh_interval_s)
        self._listeners: list[Callable[[str], None]] = []
        self._index: dict[str, list[StoredScorer]] = {}
        self._pointers: dict[str, ScorerPointer] = {}

    def add_listener(self, listener: Callable[[str], None]) -> None:
        """Call ``listener(name)`` after a scorer's stored code changed or was deleted."""
        self._listeners.append(listener)

    # --- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Load the index and follow other replicas' uploads and deletes in the background."""
        await self.refresh()
        self._watcher.start()

    async def refresh(self) -> None:
        """Bring the index up to date now (cheap when nothing changed: one counter read)."""
        if not self._opened:
            await self.state.open()
            self._opened = True
        await self._watcher.check()

    async def close(self) -> None:
        """Stop following changes; closes the state database if this registry opened it."""
        await self._watcher.stop()
        if self._owns_state:
            await self.state.close()

    # --- reading (sync, from the index) ----------------------------------------------------------

    def versions(self, name: str) -> list[StoredScorer]:
        """Every stored version of ``name``, ascending."""
        return list(self._index.get(name, ()))

    def list_scorers(self) -> list[tuple[str, list[StoredScorer]]]:
        """Every scorer name with its versions, sorted by name."""
        return [(name, list(versions)) for name, versions in sorted(self._index.items())]

    def find(self, name: str, version: int | None = None) -> StoredScorer | None:
        """The pinned version, or the current one (the promoted version, else the latest not in shadow;
        see :mod:`~evaluator_service.state.scorer_pointers`), or ``None``."""
        versions = self._index.get(name, ())
        if version is None:
            pointer = self._pointers.get(name)
            if pointer is None:  # the common case, on every scored span: the latest is current
                return versions[-1] if versions else None
            version = effective_current([s.version for s in versions], pointer)
        return next((s for s in versions if s.version == version), None)

    def pointer(self, name: str) -> ScorerPointer:
        """The stored current/shadow pointers of ``name`` (an empty one when it has none)."""
        return self._pointers.get(name) or ScorerPointer(name)

    def shadow(self, name: str) -> StoredScorer | None:
        """The version of ``name`` running in shadow, or ``None``."""
        pointer = self._pointers.get(name)  # every scored result asks: no allocation when there is none
        if pointer is None or pointer.shadow_version is None:
            return None
        return self.find(name, pointer.shadow_version)

    def get(self, name: str, version: int | None = None) -> StoredScorer:
        """Like :meth:`find` but raises :class:`ScorerNotFound` with a helpful message."""
        found = self.find(name, version)
        if found is None:
            raise ScorerNotFound(self._not_found(name, version))
        return found

    def source_path(self, stored: StoredScorer) -> Path:
        """Where this replica caches the version's source file."""
        return self.files.folder(stored) / stored.source_filename

    def environment_ready(self, stored: StoredScorer) -> bool:
        return self.installer.python_for(stored.requirements_hash) is not None

    # --- reading (async: local cache, else the database) -----------------------------------------

    async def read_source(self, stored: StoredScorer) -> str:
        return (await self._files(stored)).source

    async def read_requirements(self, stored: StoredScorer) -> str:
        return (await self._files(stored)).requirements

    async def ensure_environment(self, stored: StoredScorer) -> Path:
        """The interpreter of the scorer's environment, building it on this replica if needed."""
        ready = self.installer.python_for(stored.requirements_hash)
        if ready is not None:
            return ready
        return await self.installer.ensure(await self.read_requirements(stored))

    # --- writing ---------------------------------------------------------------------------------

    async def upload(self, *, name: str, source: str, source_filename: str, requirements: str,
                     mode: UploadMode = UploadMode.CREATE, class_name: str = "",
                     declared_kind: str | None = None, shadow: bool = False, by: str = "") -> StoredScorer:
        """Validate, install the requirements, then store (``declared_kind``: what the uploader says the class
        is, checked against the source). Raises ``InvalidUpload``, :class:`ScorerExists`,
        ``RequirementsInstallError``, ``PointerRefused`` (``shadow``: the upload runs in shadow instead of
        becoming current; ``by`` is recorded) or ``StateUnavailable``; nothing is stored unless all steps
        succeeded."""
        upload = validate_upload(name=name, source=source, source_filename=source_filename,
                                 requirements=requirements, class_name=class_name,
                                 declared_kind=declared_kind)
        await self.refresh()
        key = scorer_key(upload.name)
        same_key = [s for versions in self._index.values() for s in versions if scorer_key(s.name) == key]
        choose_version(upload.name, mode, same_key)  # fail fast, before a slow install
        if shadow and not any(s.name == upload.name for s in same_key):
            raise PointerRefused(f"scorer {upload.name!r} has no current version for a shadow to be "
                                 "compared with; upload it without --shadow first")
        await self.installer.ensure(upload.requirements)
        files = ScorerFiles(upload.source, upload.requirements)
        draft = StoredScorer(
            name=upload.name, version=0, created_at=time.time(), class_name=upload.class_name,
            sha256=hashlib.sha256(upload.source.encode() + b"\0" + upload.requirements.encode()).hexdigest(),
            source_filename=upload.source_filename,
            requirements_hash=self.installer.requirements_hash(upload.requirements), kind=upload.kind,
        )
        # The final choice happens inside the database transaction: another replica may have just uploaded.
        stored = await self.state.store_version(
            draft, files, lambda rows: choose_version(upload.name, mode, rows), shadow=shadow, by=by)
        self.files.write(stored, files)
        await self.refresh()
        return stored

    async def delete(self, name: str, version: int | None = None) -> list[StoredScorer]:
        """Delete one version or all; returns what was deleted, raises :class:`ScorerNotFound`."""
        deleted = await self.state.delete_versions(name, version)
        await self.refresh()
        if not deleted:
            raise ScorerNotFound(self._not_found(name, version))
        return deleted

    async def start_shadow(self, name: str, version: int, by: str) -> ScorerPointer:
        """Run ``version`` of ``name`` in shadow on every replica; raises ``PointerRefused``."""
        pointer = await self.state.start_shadow(name, version, by, time.time())
        await self.refresh()
        return pointer

    async def stop_shadow(self, name: str, by: str) -> ScorerPointer:
        """Stop the shadow of ``name`` on every replica; returns the pointers as they were."""
        pointer = await self.state.stop_shadow(name, by)
        await self.refresh()
        return pointer

    async def promote(self, name: str, version: int, by: str) -> Promotion:
        """Make ``version`` what unpinned requests run on every replica (and stop its shadow)."""
        promotion = await self.state.promote(name, version, by, time.time())
        await self.refresh()
        return promotion

    # --- internals -------------------------------------------------------------------------------

    async def _reload(self) -> None:
        index: dict[str, list[StoredScorer]] = {}
        for stored in await self.state.scorer_versions():
            index.setdefault(stored.name, []).append(stored)
        # Pointers after versions: a version uploaded in shadow is either missing from this index or its
        # shadow pointer is in it, never a shadow version without its pointer (it would run as current).
        self._pointers = {p.name: p for p in await self.state.scorer_pointers()}
        before = {s for versions in self._index.values() for s in versions}
        after = {s for versions in index.values() for s in versions}
        self._index = index
        for gone in before - after:
            self.files.discard(gone)
        for name in sorted({s.name for s in before - after}):
            self._notify(name)

    async def _files(self, stored: StoredScorer) -> ScorerFiles:
        cached = self.files.read(stored)
        if cached is not None:
            return cached
        # not used on this replica yet (or the cache was wiped): fetch it
        found = await self.state.scorer_files(stored.name, stored.version)
        if found is None or found[0].sha256 != stored.sha256:
            raise ScorerNotFound(f"scorer {stored.name!r} version {stored.version} was deleted or replaced")
        self.files.write(stored, found[1])
        return found[1]

    def _not_found(self, name: str, version: int | None) -> str:
        if version is not None and self.versions(name):
            return f"scorer {name!r} has no version {version}"
        return f"no scorer named {name!r}"

    def _notify(self, name: str) -> None:
        for listener in self._listeners:
            listener(name)

