"""The transaction protocol every backend provides and every concern module writes through.

A backend (:mod:`~evaluator_service.state.sqlite`, :mod:`~evaluator_service.state.postgres`) implements
:meth:`TransactionSource._transaction`: an async context manager yielding a :class:`Transaction` that
commits on normal exit and rolls back on an exception. The SQL row classes of the four concerns inherit
:class:`TransactionSource`, so each is written once for both backends.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol


class Transaction(Protocol):
    """Statements run inside one database transaction."""

    async def execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run one statement; returns its rows (empty for statements without a result)."""
        ...

    async def lock(self, key: str) -> None:
        """Serialize writers of ``key`` until the transaction ends (no-op where writes are serialized)."""
        ...


class TransactionSource:
    """Base of the SQL row classes: the backend supplies the transactions they run in."""

    def _transaction(self) -> AbstractAsyncContextManager[Transaction]:
        raise NotImplementedError
