"""What the queue refuses, and why: its span and byte limits, and the free space it keeps on the data
directory's filesystem (see "A full disk" in :mod:`evaluator_service.queue.span_queue`)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from evaluator_service.errors import EvaluatorError

MIN_FREE_BYTES = 64 * 1024 * 1024
"""Default of the free space intake leaves on the data directory's filesystem (``queue.min_free_bytes``)."""

DISK_FULL_RETRY_S = 0.5
"""Pause before a write of already-accepted spans (scored spans stored, delivered spans deleted) is tried
again after the disk was full."""


class QueueFullError(EvaluatorError):
    """Accepting the batch would exceed the configured queue limit; retrying later may succeed."""


class BatchTooLargeError(QueueFullError):
    """The batch alone exceeds the queue limit, so no retry can ever succeed."""


class DiskFullError(QueueFullError):
    """The data directory's filesystem has no room for the batch (below ``queue.min_free_bytes``, or
    SQLite said ``SQLITE_FULL``); nothing of the batch was written, and retrying later may succeed."""


def usable_bytes(db: sqlite3.Connection, path: Path) -> int:
    """Bytes a write to the queue file at ``path`` can use: free space on the filesystem plus the file's own
    free pages, less what the file still grows by when the write-ahead log is checkpointed into it (until
    then the WAL holds the newest pages, so the file on disk can be much smaller than the database)."""
    fs = os.statvfs(path.parent)
    free_pages, pages, page_size = (int(db.execute(f"PRAGMA {name}").fetchone()[0])
                                    for name in ("freelist_count", "page_count", "page_size"))
    try:
        on_disk = path.stat().st_size
    except FileNotFoundError:
        on_disk = 0
    growth = max(0, pages * page_size - on_disk)
    return fs.f_bavail * fs.f_frsize + free_pages * page_size - growth
