"""The evaluator's egress proxy for sandboxes, driven over its real Unix socket against a real TCP server
(no sandbox needed: what the in-sandbox relay forwards is exactly these bytes)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from evaluator_service.sandbox.egress_proxy import EgressLedger, EgressProxy, allowlist_from_urls


class Upstream:
    """A TCP server recording the first bytes of each connection and answering a fixed HTTP response."""

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.port = 0
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> Upstream:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.received.append(await reader.read(65536))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        await writer.drain()
        writer.close()

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    server = await Upstream().start()
    yield server
    await server.stop()


async def _proxy(tmp_path: Path, upstream: Upstream, budget_requests: int = 1,
                 per_request: int = 2) -> tuple[EgressProxy, EgressLedger]:
    ledger = EgressLedger(calls_per_s_per_scorer=1000)
    proxy = EgressProxy(tmp_path / "egress.sock", scorer="judge", ledger=ledger,
                        calls_per_request=per_request, allow=frozenset({f"127.0.0.1:{upstream.port}"}))
    proxy.grant(budget_requests)
    await proxy.start()
    return proxy, ledger


async def _exchange(proxy: EgressProxy, request: bytes, then: bytes = b"") -> bytes:
    reader, writer = await asyncio.open_unix_connection(str(proxy.socket_path))
    writer.write(request)
    if then:
        head = await reader.readuntil(b"\r\n\r\n")
        writer.write(then)
        return head + await reader.read()
    data = await reader.read()
    writer.close()
    return data


async def test_connect_to_an_allowed_endpoint_opens_a_tunnel(tmp_path: Path, upstream: Upstream) -> None:
    proxy, ledger = await _proxy(tmp_path, upstream)
    try:
        answer = await _exchange(proxy, f"CONNECT 127.0.0.1:{upstream.port} HTTP/1.1\r\n\r\n".encode(),
                                 then=b"bytes of a TLS handshake")
    finally:
        await proxy.close()
    assert answer.startswith(b"HTTP/1.1 200 Connection established\r\n\r\n") and answer.endswith(b"ok")
    assert upstream.received == [b"bytes of a TLS handshake"]
    assert ledger.counts == {("judge", "allowed"): 1}
    assert not proxy.socket_path.exists()


async def test_plain_http_is_forwarded_in_origin_form_and_closed(tmp_path: Path, upstream: Upstream) -> None:
    proxy, _ = await _proxy(tmp_path, upstream)
    try:
        request = (f"POST http://127.0.0.1:{upstream.port}/v1/chat?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   "Proxy-Connection: keep-alive\r\nContent-Length: 2\r\n\r\n{}").encode()
        answer = await _exchange(proxy, request)
    finally:
        await proxy.close()
    assert answer.endswith(b"ok")
    sent = upstream.received[0]
    assert sent.startswith(b"POST /v1/chat?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    assert b"Proxy-Connection" not in sent and b"Connection: close\r\n\r\n" in sent


@pytest.mark.parametrize(("request_line", "status", "message"), [
    ("CONNECT 127.0.0.1:4317 HTTP/1.1", b"403",
     b"egress to 127.0.0.1:4317 is not allowed (allowed: 127.0.0.1:"),
    ("GET http://example.com/ HTTP/1.1", b"403", b"egress to example.com:80 is not allowed"),
    ("GET /v1/traces HTTP/1.1", b"400", b"is not a proxy request"),
    ("nonsense", b"400", b"not an HTTP proxy request"),
])
async def test_everything_else_is_refused_with_the_reason(
    tmp_path: Path, upstream: Upstream, request_line: str, status: bytes, message: bytes
) -> None:
    proxy, ledger = await _proxy(tmp_path, upstream)
    try:
        answer = await _exchange(proxy, f"{request_line}\r\nHost: x\r\n\r\n".encode())
    finally:
        await proxy.close()
    assert answer.startswith(b"HTTP/1.1 " + status) and message in answer, answer
    assert upstream.received == [] and ledger.counts == {("judge", "refused"): 1}


async def test_the_per_span_budget_is_pooled_and_then_refused(tmp_path: Path, upstream: Upstream) -> None:
    proxy, ledger = await _proxy(tmp_path, upstream, budget_requests=1, per_request=2)
    connect = f"CONNECT 127.0.0.1:{upstream.port} HTTP/1.1\r\n\r\n".encode()
    try:
        answers = [await _exchange(proxy, connect, then=b"x") for _ in range(2)]
        over = await _exchange(proxy, connect)
        proxy.grant(1)  # the worker was sent one more request: two more calls
        again = await _exchange(proxy, connect, then=b"x")
    finally:
        await proxy.close()
    assert all(a.startswith(b"HTTP/1.1 200") for a in [*answers, again])
    assert over.startswith(b"HTTP/1.1 429") and b"LLM call limit reached (2 calls per scored request)" in over
    assert ledger.counts == {("judge", "allowed"): 3, ("judge", "limit"): 1}


def test_allowlist_entries_from_endpoint_urls() -> None:
    assert allowlist_from_urls(["https://api.openai.com/v1", "http://127.0.0.1:8089/v1",
                                "Judge.Internal:8443", "http://[::1]:9000"]) == frozenset(
        {"api.openai.com:443", "127.0.0.1:8089", "judge.internal:8443", "[::1]:9000"})


def test_the_rate_limit_is_shared_by_every_worker_of_a_scorer() -> None:
    ledger = EgressLedger(calls_per_s_per_scorer=7)
    assert ledger.bucket("judge") is ledger.bucket("judge")
    assert ledger.bucket("other") is not ledger.bucket("judge")
    assert ledger.bucket("judge").rate == 7


async def test_a_proxy_socket_fits_a_unix_address_however_long_the_work_root(tmp_path: Path) -> None:
    # A long TMPDIR or work_root (pytest's, a deep data dir) must not make every worker fail to start with
    # "AF_UNIX path too long": the socket then lives in a short directory of its own.
    from evaluator_service.sandbox.config import SandboxConfig
    from evaluator_service.sandbox.isolation import SandboxIsolation

    run_dir = tmp_path / ("deep" * 30)
    run_dir.mkdir()
    isolation = SandboxIsolation(SandboxConfig(), None, b"", None, run_dir, EgressLedger(10.0))
    path = isolation.new_socket_path()
    assert len(str(path)) < 108 and not str(path).startswith(str(run_dir))
    proxy = EgressProxy(path, scorer="s", allow=frozenset(), ledger=isolation.ledger, calls_per_request=1)
    await proxy.start()
    try:
        _, writer = await asyncio.open_unix_connection(str(path))
        writer.close()
    finally:
        await proxy.close()
        isolation.close()
    assert not path.parent.exists()
