"""PostgreSQL shared state for replicas: ``postgresql://user:pass@host:port/db``.

One ``psycopg.AsyncConnection`` per replica (autocommit; explicit transactions), guarded by an asyncio lock
because a connection runs one transaction at a time. The traffic is tiny (a counter poll per second, a
write per upload or pause), so a pool would add nothing. A broken connection is replaced on the next call,
so a database restart costs a few failed polls, not a replica restart.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg

from evaluator_service.state import schema
from evaluator_service.state.contract import StateUnavailable
from evaluator_service.state.sql_state import SqlSharedState
from evaluator_service.state.transaction import Transaction, storable_params
from evaluator_service.state.urls import masked, scrub

CONNECT_TIMEOUT_S = 5
# Any constant works: it only keeps two replicas from racing CREATE TABLE IF NOT EXISTS at startup.
_SCHEMA_LOCK_ID = 0x6A756467


class PostgresSharedState(SqlSharedState):
    """Shared state in a PostgreSQL database (tables ``judgeval_*``, created at :meth:`open`)."""

    def __init__(self, url: str) -> None:
        self._url = url
        self.display_url = masked(url)
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        async with self._transaction() as tx:
            await tx.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK_ID,))
            for statement in schema.SCHEMA:
                await tx.execute(statement)

    async def close(self) -> None:
        async with self._lock:
            if self._conn is not None:
                await self._conn.close()
                self._conn = None

    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = await psycopg.AsyncConnection.connect(
                self._url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S,
                application_name="judgeval-evaluator",
            )
        return self._conn

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Transaction]:
        async with self._lock:
            try:
                conn = await self._connection()
                async with conn.transaction():
                    yield _PostgresTransaction(conn)
            except psycopg.Error as exc:
                what = "unreachable" if isinstance(exc, psycopg.OperationalError) else "failed"
                # libpq messages span lines (a hint follows the error); a start-up failure prints one line.
                detail = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
                detail = scrub(detail, self._url)
                raise StateUnavailable(f"state database {self.display_url} {what}: {detail}") from None


class _PostgresTransaction:
    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        cursor = await self._conn.execute(sql, storable_params(params))  # type: ignore[arg-type]  # our SQL
        return list(await cursor.fetchall()) if cursor.description is not None else []

    async def lock(self, key: str) -> None:
        """A transaction-scoped advisory lock on the scorer key: concurrent uploads of one name (or of
        names sharing attributes) from several replicas take turns choosing their version."""
        await self._conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (key,))
