"""The evaluator's side of sandbox egress: an HTTP proxy on a Unix socket per worker, allow-listed, metered.

A sandbox has its own, empty network namespace; the only way out is the Unix socket bound into it (see
:mod:`evaluator_service.sandbox.egress_relay`). Each connection carries one proxy request:

- ``CONNECT host:port`` (HTTPS): allowed when ``host:port`` is on the allowlist; the tunnel counts as one
  LLM call (requests inside a kept-alive TLS tunnel cannot be seen, so this counts tunnels);
- ``METHOD http://host:port/path`` (plain HTTP): allowed the same way, forwarded with ``Connection: close``
  so the next call opens a new connection and is counted too.

Anything else, or a destination not on the list, is refused with ``403`` and a message naming the
destination and the allowlist, which the scorer's HTTP client raises. Calls are bounded like the
evaluator's own judge calls: a per-scorer rate (calls over it wait their turn) and a budget of calls per
scored request, pooled per worker (``429`` once spent). Every call is counted by scorer and outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from evaluator_service.scoring.rate_budget import TokenBucket

_log = logging.getLogger(__name__)
MAX_HEAD_BYTES = 64 * 1024
CONNECT_TIMEOUT_S = 10.0


class EgressOutcome:
    """Values of the ``outcome`` label of sandbox LLM-call counts."""

    ALLOWED = "allowed"
    REFUSED = "refused"  # destination not on the allowlist, or not a proxy request
    LIMIT = "limit"  # the worker's calls-per-request budget was spent
    UNREACHABLE = "unreachable"  # allowed, but the destination did not answer


@dataclass
class EgressLedger:
    """Counts of sandbox egress by (scorer, outcome), and one token bucket per scorer."""

    calls_per_s_per_scorer: float
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    on_count: Callable[[str, str], None] | None = None
    _buckets: dict[str, TokenBucket] = field(default_factory=dict)

    def bucket(self, scorer: str) -> TokenBucket:
        """The rate limit shared by every worker of ``scorer``."""
        if scorer not in self._buckets:
            self._buckets[scorer] = TokenBucket(self.calls_per_s_per_scorer)
        return self._buckets[scorer]

    def count(self, scorer: str, outcome: str) -> None:
        """Record one call attempt."""
        self.counts[(scorer, outcome)] += 1
        if self.on_count is not None:
            self.on_count(scorer, outcome)


class EgressProxy:
    """The proxy of one worker: listens on ``socket_path`` until :meth:`close`."""

    def __init__(self, socket_path: Path, *, scorer: str, allow: frozenset[str], ledger: EgressLedger,
                 calls_per_request: int) -> None:
        self.socket_path = socket_path
        self._scorer = scorer
        self._allow = allow
        self._ledger = ledger
        self._per_request = calls_per_request
        self._budget = 0
        self._server: asyncio.AbstractServer | None = None
        self._connections: set[asyncio.Task[None]] = set()

    def grant(self, requests: int) -> None:
        """``requests`` more requests were sent to this worker: each brings its budget of calls."""
        self._budget += requests * self._per_request

    async def start(self) -> None:
        """Listen; the socket is world-connectable (only the sandbox it is bound into can reach it)."""
        self._server = await asyncio.start_unix_server(self._accept, path=str(self.socket_path))
        os.chmod(self.socket_path, 0o666)

    async def close(self) -> None:
        """Stop listening, end open tunnels and remove the socket file."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await self._serve(reader, writer)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            self._connections.discard(task)
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        if len(head) > MAX_HEAD_BYTES:
            return await self._refuse(writer, 400, "request head too large")
        request_line, _, rest = head.partition(b"\r\n")
        parts = request_line.decode("latin-1").split()
        if len(parts) != 3:
            return await self._refuse(writer, 400, "not an HTTP proxy request")
        method, target, version = parts
        destination, forwarded = _destination(method, target, version, rest)
        if destination is None:
            return await self._refuse(writer, 400, f"{method} {target[:200]} is not a proxy request; "
                                                   "use HTTP_PROXY/HTTPS_PROXY")
        if destination not in self._allow:
            allowed = ", ".join(sorted(self._allow)) or "nothing"
            return await self._refuse(writer, 403, f"egress to {destination} is not allowed "
                                                   f"(allowed: {allowed})")
        if self._budget <= 0:
            self._ledger.count(self._scorer, EgressOutcome.LIMIT)
            return await self._refuse(writer, 429, f"LLM call limit reached ({self._per_request} calls "
                                                   "per scored request)", count=False)
        self._budget -= 1
        await self._ledger.bucket(self._scorer).acquire()
        host, port = destination.rsplit(":", 1)
        try:
            up_reader, up_writer = await asyncio.wait_for(
                asyncio.open_connection(host.strip("[]"), int(port)), CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError) as exc:
            self._ledger.count(self._scorer, EgressOutcome.UNREACHABLE)
            return await self._refuse(writer, 502, f"cannot reach {destination}: {exc}", count=False)
        self._ledger.count(self._scorer, EgressOutcome.ALLOWED)
        if forwarded is None:
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        else:
            up_writer.write(forwarded)
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            up_writer.close()

    async def _refuse(self, writer: asyncio.StreamWriter, status: int, message: str, *,
                      count: bool = True) -> None:
        if count:
            self._ledger.count(self._scorer, EgressOutcome.REFUSED)
        _log.info("sandbox egress of scorer %r refused: %s", self._scorer, message)
        body = f'{{"error": {{"message": "judgeval sandbox: {message}", "type": "sandbox_egress"}}}}'
        reason = {400: "Bad Request", 403: "Forbidden", 429: "Too Many Requests", 502: "Bad Gateway"}[status]
        writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {len(body.encode())}\r\nConnection: close\r\n\r\n{body}".encode())
        await writer.drain()


def _destination(method: str, target: str, version: str, rest: bytes) -> tuple[str | None, bytes | None]:
    """``host:port`` of a proxy request and, for plain HTTP, the request to send upstream."""
    if method == "CONNECT":
        host, sep, port = target.rpartition(":")
        return (f"{host.lower()}:{port}" if sep and host and port.isdigit() else None), None
    url = urlsplit(target)
    if url.scheme != "http" or not url.hostname:
        return None, None
    url_port = url.port or 80
    path = (url.path or "/") + (f"?{url.query}" if url.query else "")
    headers = [line for line in rest.split(b"\r\n") if line and not line.lower().startswith(
        (b"proxy-", b"connection:", b"keep-alive:"))]
    forwarded = b"\r\n".join([f"{method} {path} {version}".encode("latin-1"), *headers,
                              b"Connection: close", b"", b""])
    host = f"[{url.hostname}]" if ":" in url.hostname else url.hostname
    return f"{host.lower()}:{url_port}", forwarded


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except OSError:
        pass


def allowlist_from_urls(urls: list[str]) -> frozenset[str]:
    """``host:port`` entries for endpoint URLs (``https://api.openai.com/v1`` → ``api.openai.com:443``)."""
    entries = set()
    for url in urls:
        parts = urlsplit(url if "://" in url else f"//{url}")
        if not parts.hostname:
            continue
        port = parts.port or (80 if parts.scheme == "http" else 443)
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        entries.add(f"{host.lower()}:{port}")
    return frozenset(entries)
