"""SQLite shared state: the single-node default (``sqlite:///<data_dir>/state.sqlite3``), no extra service.

Processes on one host may share the file (WAL mode, ``BEGIN IMMEDIATE`` serializes writers); replicas on
several hosts need PostgreSQL. All SQLite calls run on one dedicated thread, so the event loop never
blocks on disk; an asyncio lock keeps one transaction at a time on the connection.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from evaluator_service.errors import path_problem
from evaluator_service.state import schema
from evaluator_service.state.contract import StateUnavailable
from evaluator_service.state.sql_state import SqlSharedState
from evaluator_service.state.transaction import Transaction, storable_params

logger = logging.getLogger(__name__)

T = TypeVar("T")
_BUSY_TIMEOUT_S = 10.0


class SqliteSharedState(SqlSharedState):
    """Shared state in one SQLite file; ``open()`` creates the file, its directory and the schema."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.display_url = f"sqlite:///{self.path}"
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="judgeval-state")
        self._conn: sqlite3.Connection | None = None
        self._lock = asyncio.Lock()
        self._closed = False

    async def open(self) -> None:
        try:
            await self._call(self._open_sync)
        except OSError as exc:  # its folder cannot be created: a file is in the way, no permission
            raise StateUnavailable(
                f"state database {self.display_url}: {path_problem(self.path.parent, exc)}") from None

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._call(self._close_sync)
        self._executor.shutdown(wait=True)

    def _open_sync(self) -> None:
        if self._conn is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                               timeout=_BUSY_TIMEOUT_S)
        _enable_wal(conn)
        conn.execute("PRAGMA synchronous=FULL")
        # One transaction holding the write lock: a replica opening the same file at the same moment waits
        # (busy timeout) instead of failing with "database is locked" between two DDL statements.
        conn.execute("BEGIN IMMEDIATE")
        for statement in schema.SCHEMA:
            conn.execute(statement)
        conn.execute("COMMIT")
        self._conn = conn

    def _close_sync(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def _call(self, fn: Callable[[], T]) -> T:
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, fn)
        except sqlite3.Error as exc:
            raise StateUnavailable(f"state database {self.display_url}: {exc}") from None

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Transaction]:
        async with self._lock:
            await self._call(self._open_sync)
            try:
                await self._call(lambda: self._db().execute("BEGIN IMMEDIATE"))
                yield _SqliteTransaction(self)
            except BaseException:
                # A cancelled call still runs in the state thread (a BEGIN or a statement already queued), so
                # the rollback is queued there behind it and ahead of the next transaction's BEGIN, and not
                # awaited: a second cancellation cannot skip it and leave the connection inside a
                # transaction ("cannot start a transaction within a transaction" for every later one).
                if not self._closed:
                    self._executor.submit(self._rollback_sync)
                raise
            await self._call(lambda: self._db().execute("COMMIT"))

    def _rollback_sync(self) -> None:
        if self._conn is not None and self._conn.in_transaction:
            try:
                self._conn.execute("ROLLBACK")
            except sqlite3.Error as exc:  # nothing awaits this: say it here
                logger.warning("state database %s: rollback failed: %s", self.display_url, exc)

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise sqlite3.ProgrammingError("state database is closed")
        return self._conn


def _enable_wal(conn: sqlite3.Connection) -> None:
    """Switch to WAL, waiting out a replica that is creating the same file right now: changing the journal
    mode answers "database is locked" at once instead of using the busy timeout."""
    deadline = time.monotonic() + _BUSY_TIMEOUT_S
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)  # on the state thread, never the event loop


class _SqliteTransaction:
    def __init__(self, state: SqliteSharedState) -> None:
        self._state = state

    async def execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        query, bound = sql.replace("%s", "?"), storable_params(params)
        return await self._state._call(lambda: self._state._db().execute(query, bound).fetchall())

    async def lock(self, key: str) -> None:
        """``BEGIN IMMEDIATE`` already holds the database's write lock."""
