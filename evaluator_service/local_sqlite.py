"""A durable local SQLite file whose one connection lives on one dedicated thread.

The span queue (:mod:`evaluator_service.queue`), the trajectory buffer
(:mod:`evaluator_service.trajectories.buffer`) and the result-log queue
(:mod:`evaluator_service.trajectories.result_logs`) each keep one file under the data directory the same
way: WAL mode with ``synchronous=FULL`` (a committed transaction survives a power cut), an autocommit
connection (transactions are explicit, ``BEGIN IMMEDIATE``), and every call on one executor thread the
connection never leaves, so the event loop never blocks on disk and writes are naturally serialized.

The shared state database (:mod:`evaluator_service.state.sqlite`) is not one of them: it may be shared by
several processes (busy timeout, retried WAL switch) and turns every SQLite error into ``StateUnavailable``.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


class LocalSqliteFile:
    """Base of the async facades over one local SQLite file: :meth:`_run` a function on the file's thread,
    :meth:`_db` the connection there, :meth:`_connect` it (from the subclass's ``open``), :meth:`close`."""

    def __init__(self, path: Path, thread_name: str, description: str) -> None:
        self.path = path
        self._description = description
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=thread_name)
        self._conn: sqlite3.Connection | None = None

    async def _run(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError(f"{self._description} is closed")
        return self._conn

    def _connect(self, *, page_size: int | None = None, pragmas: Sequence[str] = ()) -> sqlite3.Connection:
        """Create the file's directory and open a durable connection (on the file's thread); ``page_size``
        applies to new files only, ``pragmas`` run after WAL mode is on. The caller sets ``self._conn``
        once its schema is in place."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        if page_size is not None:
            conn.execute(f"PRAGMA page_size={page_size}")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        for pragma in pragmas:
            conn.execute(f"PRAGMA {pragma}")
        return conn

    def _close_sync(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def close(self) -> None:
        """Close the connection and stop the file's thread."""
        await self._run(self._close_sync)
        self._executor.shutdown(wait=True)


class transaction:
    """``with transaction(db):`` one ``BEGIN IMMEDIATE`` … ``COMMIT`` on an autocommit connection;
    ``ROLLBACK`` on an exception, and after a ``COMMIT`` that failed (e.g. ``SQLITE_FULL`` while writing the
    WAL), so no transaction is left open."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type:
            self._db.execute("ROLLBACK")
            return
        try:
            self._db.execute("COMMIT")
        except sqlite3.Error:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise


def is_disk_full(exc: sqlite3.Error) -> bool:
    """Whether SQLite failed for lack of space (``SQLITE_FULL``, which it reports for ``ENOSPC``)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF == sqlite3.SQLITE_FULL  # extended codes keep the primary low
