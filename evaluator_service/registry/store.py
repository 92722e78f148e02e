"""The scorer registry: versioned uploaded scorers on disk, with their requirement environments.

Layout under the evaluator's data directory (mode 0700, so sandboxed scorer code, which runs as another
user, cannot read it)::

    <data_dir>/scorers/<name-key>/<version>/{metadata.json, <module>.py, requirements.txt}

Environments live outside the data directory (``envs_dir``, default ``<data_dir>-scorer-envs``) because
the sandbox user must be able to run them; they are a cache rebuilt from the stored requirements.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from judgeval.semconv import scorer_key

from evaluator_service.registry.environments import EnvironmentInstaller
from evaluator_service.registry.validation import InvalidUpload, ValidatedUpload, validate_upload

_METADATA = "metadata.json"
_REQUIREMENTS = "requirements.txt"


class UploadMode(enum.Enum):
    """What an upload does when the name already exists."""

    CREATE = "create"
    OVERWRITE = "overwrite"
    NEW_VERSION = "new_version"


class ScorerExists(Exception):
    """The name is taken and the upload asked neither to overwrite nor to add a version."""


class ScorerNotFound(LookupError):
    """No scorer (or no such version of it) is stored."""


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


class Registry:
    """Versioned store of uploaded scorers. Writes happen only through this object (one per process);
    ``on_change`` listeners hear the name of every scorer that was overwritten or deleted."""

    def __init__(self, data_dir: Path, *, envs_dir: Path | None = None,
                 installer: EnvironmentInstaller | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.data_dir, 0o700)
        self.root = self.data_dir / "scorers"
        self.root.mkdir(mode=0o700, exist_ok=True)
        envs = envs_dir or self.data_dir.with_name(f"{self.data_dir.name}-scorer-envs")
        self.installer = installer or EnvironmentInstaller(Path(envs))
        self._listeners: list[Callable[[str], None]] = []
        self._write_lock = asyncio.Lock()
        # In-memory index: resolve() runs for every scored span and must not touch the disk. Valid because
        # this object is the only writer of its data directory.
        self._index: dict[str, list[StoredScorer]] = {}
        for meta in self.root.glob(f"*/*/{_METADATA}"):
            loaded = self._load(meta.parent)
            if loaded is not None:
                self._index.setdefault(loaded.name, []).append(loaded)
        for versions in self._index.values():
            versions.sort(key=lambda s: s.version)

    def add_listener(self, listener: Callable[[str], None]) -> None:
        """Call ``listener(name)`` after a scorer's stored code changed or was deleted."""
        self._listeners.append(listener)

    # --- reading ---------------------------------------------------------------------------------

    def versions(self, name: str) -> list[StoredScorer]:
        """Every stored version of ``name``, ascending."""
        return list(self._index.get(name, ()))

    def list_scorers(self) -> list[tuple[str, list[StoredScorer]]]:
        """Every scorer name with its versions, sorted by name."""
        return [(name, list(versions)) for name, versions in sorted(self._index.items())]

    def find(self, name: str, version: int | None = None) -> StoredScorer | None:
        """The pinned version, or the latest, or ``None``."""
        versions = self.versions(name)
        if version is None:
            return versions[-1] if versions else None
        return next((s for s in versions if s.version == version), None)

    def get(self, name: str, version: int | None = None) -> StoredScorer:
        """Like :meth:`find` but raises :class:`ScorerNotFound` with a helpful message."""
        found = self.find(name, version)
        if found is None:
            if version is not None and self.versions(name):
                raise ScorerNotFound(f"scorer {name!r} has no version {version}")
            raise ScorerNotFound(f"no scorer named {name!r}")
        return found

    def source_path(self, stored: StoredScorer) -> Path:
        return self._dir(stored.name) / str(stored.version) / stored.source_filename

    def read_source(self, stored: StoredScorer) -> str:
        return self.source_path(stored).read_text(encoding="utf-8")

    def read_requirements(self, stored: StoredScorer) -> str:
        return (self._dir(stored.name) / str(stored.version) / _REQUIREMENTS).read_text(encoding="utf-8")

    def environment_ready(self, stored: StoredScorer) -> bool:
        return self.installer.python_for(stored.requirements_hash) is not None

    async def ensure_environment(self, stored: StoredScorer) -> Path:
        """The interpreter of the scorer's environment, rebuilding it if the cache was wiped."""
        ready = self.installer.python_for(stored.requirements_hash)
        return ready if ready is not None else await self.installer.ensure(self.read_requirements(stored))

    # --- writing ---------------------------------------------------------------------------------

    async def upload(self, *, name: str, source: str, source_filename: str, requirements: str,
                     mode: UploadMode = UploadMode.CREATE, class_name: str = "") -> StoredScorer:
        """Validate, install the requirements, then store. Raises ``InvalidUpload``, :class:`ScorerExists`
        or ``RequirementsInstallError``; nothing is stored unless every step succeeded."""
        upload = validate_upload(name=name, source=source, source_filename=source_filename,
                                 requirements=requirements, class_name=class_name)
        async with self._write_lock:
            version = self._next_version(upload.name, mode)
        await self.installer.ensure(upload.requirements)
        async with self._write_lock:
            version = self._next_version(upload.name, mode)  # re-check: another upload may have landed
            stored = self._write(upload, version)
        if mode is UploadMode.OVERWRITE:
            self._notify(upload.name)
        return stored

    def delete(self, name: str, version: int | None = None) -> list[StoredScorer]:
        """Delete one version or all; returns what was deleted, raises :class:`ScorerNotFound`."""
        targets = [self.get(name, version)] if version is not None else self.versions(name)
        if not targets:
            raise ScorerNotFound(f"no scorer named {name!r}")
        for stored in targets:
            shutil.rmtree(self._dir(name) / str(stored.version))
        remaining = [s for s in self.versions(name) if s not in targets]
        if remaining:
            self._index[name] = remaining
        else:
            self._index.pop(name, None)
            shutil.rmtree(self._dir(name), ignore_errors=True)
        self._notify(name)
        return targets

    def _next_version(self, name: str, mode: UploadMode) -> int:
        key = scorer_key(name)
        clash = next((other for other in self._index if other != name and scorer_key(other) == key), None)
        if clash is not None:
            raise InvalidUpload(
                f"scorer name {name!r} would share span attributes (judgeval.score.{key}.*) with the "
                f"existing scorer {clash!r}; choose another name or delete {clash!r} first"
            )
        latest = self.find(name)
        if latest is None:
            return 1
        if mode is UploadMode.CREATE:
            raise ScorerExists(
                f"a scorer named {name!r} already exists (latest version {latest.version}); "
                "upload with --overwrite to replace it or --new-version to add a version"
            )
        return latest.version + 1 if mode is UploadMode.NEW_VERSION else latest.version

    def _write(self, upload: ValidatedUpload, version: int) -> StoredScorer:
        digest = hashlib.sha256(upload.source.encode() + b"\0" + upload.requirements.encode()).hexdigest()
        stored = StoredScorer(
            name=upload.name, version=version, sha256=digest, created_at=time.time(),
            class_name=upload.class_name, source_filename=upload.source_filename,
            requirements_hash=self.installer.requirements_hash(upload.requirements),
        )
        parent = self._dir(upload.name)
        parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        staging = parent / f".{version}.{uuid.uuid4().hex[:8]}"
        staging.mkdir(mode=0o700)
        (staging / upload.source_filename).write_text(upload.source, encoding="utf-8")
        (staging / _REQUIREMENTS).write_text(upload.requirements, encoding="utf-8")
        (staging / _METADATA).write_text(json.dumps(asdict(stored), indent=2), encoding="utf-8")
        final = parent / str(version)
        if final.exists():  # overwrite: swap directories so readers never see a half-written version
            retired = parent / f".{version}.old.{uuid.uuid4().hex[:8]}"
            final.rename(retired)
            staging.rename(final)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            staging.rename(final)
        versions = [s for s in self.versions(upload.name) if s.version != version]
        self._index[upload.name] = sorted([*versions, stored], key=lambda s: s.version)
        return stored

    def _dir(self, name: str) -> Path:
        return self.root / f"{scorer_key(name)}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"

    @staticmethod
    def _load(version_dir: Path) -> StoredScorer | None:
        try:
            return StoredScorer(**json.loads((version_dir / _METADATA).read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return None

    def _notify(self, name: str) -> None:
        for listener in self._listeners:
            listener(name)
