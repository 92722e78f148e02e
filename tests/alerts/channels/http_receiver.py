"""A real local HTTP receiver (aiohttp on 127.0.0.1, port 0) that records every request byte for byte and
answers from a script: ``Answer(status, body, delay_s)`` per request, then ``200``."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: str = ""
    delay_s: float = 0.0
    """Wait this long before answering (longer than the channel's timeout: a timed-out try)."""
    headers: dict[str, str] | None = None
    echo: bool = False
    """Answer with the request (path, Authorization header, body): a receiver that repeats secrets back."""


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    raw_path: str
    """As sent, percent-encoding and query included."""
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class HttpReceiver:
    """``async with HttpReceiver(answers) as r``: ``r.url(path)``, ``r.requests``."""

    def __init__(self, answers: list[Answer] | None = None, port: int = 0) -> None:
        """``port``: listen there (a receiver coming back after an outage); 0 picks a free one."""
        self.answers = list(answers or [])
        self.requests: list[Received] = []
        self._runner: web.AppRunner | None = None
        self.port = port

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.requests.append(Received(request.method, request.path, request.raw_path, dict(request.query),
                                      dict(request.headers), body))
        answer = self.answers.pop(0) if self.answers else Answer()
        if answer.delay_s:
            await asyncio.sleep(answer.delay_s)
        text = answer.body
        if answer.echo:
            auth = request.headers.get("Authorization")
            text = f"{request.raw_path} auth={auth} {body.decode(errors='replace')}"
        return web.Response(status=answer.status, text=text, headers=answer.headers)

    async def __aenter__(self) -> HttpReceiver:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = site.port
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()
