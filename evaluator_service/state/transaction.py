"""The transaction protocol every backend provides and every concern module writes through.

A backend (:mod:`~evaluator_service.state.sqlite`, :mod:`~evaluator_service.state.postgres`) implements
:meth:`TransactionSource._transaction`: an async context manager yielding a :class:`Transaction` that
commits on normal exit and rolls back on an exception. The SQL row classes of the four concerns inherit
:class:`TransactionSource`, so each is written once for both backends. Both bind their parameters through
:func:`storable_params`.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol


def storable_text(value: str) -> str:
    """``value`` as a database can store it: a lone surrogate (from span bytes that were not UTF-8, which
    protobuf hands on as such) becomes U+FFFD instead of failing the statement, and with it a whole batch."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in value)
    return value


def storable_params(params: tuple[Any, ...]) -> tuple[Any, ...]:
    """``params`` with every text made :func:`storable_text`; what both backends bind (scorer names, reasons
    and other text from spans reach many tables, so the guard is here, once)."""
    return tuple(storable_text(p) if isinstance(p, str) else p for p in params)


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
