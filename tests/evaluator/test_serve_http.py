"""The one way the evaluator's HTTP listeners (OTLP/HTTP intake, console) bind ``host:port``, IPv6 too."""

from __future__ import annotations

import socket

import httpx
import pytest
from aiohttp import web

from evaluator_service.listen_address import serve_http


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


async def _hello(_request: web.Request) -> web.Response:
    return web.Response(text="hello")


@pytest.mark.parametrize("listen, url_host", [
    ("127.0.0.1:0", "127.0.0.1"),
    pytest.param("[::1]:0", "[::1]", marks=pytest.mark.skipif(not _has_ipv6_loopback(), reason="no IPv6")),
])
async def test_a_listen_address_is_served_and_its_port_reported(listen: str, url_host: str) -> None:
    app = web.Application()
    app.router.add_get("/", _hello)
    runner = web.AppRunner(app)
    port = await serve_http(runner, listen, None)
    try:
        async with httpx.AsyncClient() as client:
            answer = await client.get(f"http://{url_host}:{port}/")
        assert (answer.status_code, answer.text) == (200, "hello")
    finally:
        await runner.cleanup()
