"""The per-replica file cache of uploaded scorers' text, split from :mod:`evaluator_service.registry.store`
along the seam between what the shared database holds (the store) and what one replica keeps on disk (here).

Under the data directory (mode 0700, so sandboxed scorer code, which runs as another user, cannot read it)::

    <data_dir>/scorers/<name-key>-<name hash>/<version>-<sha256 prefix>/{<module>.py, requirements.txt}

A version's folder is written whole into a staging folder and renamed into place, so readers never see a
half-written version.
"""

from __future__ import annotations

import hashlib
import shutil
import uuid
from pathlib import Path

from judgeval.semconv import scorer_key

from evaluator_service.state import ScorerFiles, StoredScorer

REQUIREMENTS_FILE_NAME = "requirements.txt"


class ScorerFileCache:
    """The cached source and requirements of scorer versions under ``root`` (created mode 0700)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(mode=0o700, exist_ok=True)

    def folder(self, stored: StoredScorer) -> Path:
        """Where the version's files are (or would be) cached."""
        name_dir = f"{scorer_key(stored.name)}-{hashlib.sha256(stored.name.encode()).hexdigest()[:8]}"
        return self.root / name_dir / f"{stored.version}-{stored.sha256[:16]}"

    def read(self, stored: StoredScorer) -> ScorerFiles | None:
        """The cached files, or ``None`` when this replica has not cached them (or the cache was wiped)."""
        folder = self.folder(stored)
        try:
            return ScorerFiles((folder / stored.source_filename).read_text(encoding="utf-8"),
                               (folder / REQUIREMENTS_FILE_NAME).read_text(encoding="utf-8"))
        except OSError:
            return None

    def write(self, stored: StoredScorer, files: ScorerFiles) -> None:
        """Cache the version's files unless they already are."""
        final = self.folder(stored)
        if final.exists():
            return
        final.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        staging = final.parent / f".{final.name}.{uuid.uuid4().hex[:8]}"
        staging.mkdir(mode=0o700)
        (staging / stored.source_filename).write_text(files.source, encoding="utf-8")
        (staging / REQUIREMENTS_FILE_NAME).write_text(files.requirements, encoding="utf-8")
        try:
            staging.rename(final)  # readers never see a half-written version
        except OSError:  # a concurrent reader cached it first; both wrote the same content
            shutil.rmtree(staging, ignore_errors=True)

    def discard(self, stored: StoredScorer) -> None:
        """Remove a deleted or replaced version's files."""
        shutil.rmtree(self.folder(stored), ignore_errors=True)
