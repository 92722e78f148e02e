"""A local OpenAI-compatible HTTP server that answers from recordings.

Paid LLM vendors are the one thing this project stands in for: the local stack, the examples and the tests
point ``OPENAI_BASE_URL`` at this server when no ``OPENAI_API_KEY`` is set. It speaks the real wire format
(``POST /v1/chat/completions``, ``POST /v1/responses`` and Anthropic's ``POST /v1/messages``, each plain and
``stream=true`` as server-sent events, and ``POST /v1/embeddings``), so the official ``openai`` and
``anthropic`` clients and every instrumentation run their real code paths against it. The bodies and event
sequences are built in :mod:`judgeval.testing.recorded_wire`.

Recordings are JSON objects, tried in order, the first whose ``match`` substrings all occur
(case-insensitively) in the request's message text wins::

    {"match": ["package"], "answer": "YES"}
    {"match": ["slow"], "answer": "ok", "delay_ms": 200}
    {"match": ["flaky"], "status": 429, "times": 2}      # fail twice, then fall through

A recording without ``match`` is the default. A request that matches nothing gets HTTP 404 with an
explanation, so a missing recording is noticed rather than papered over. Every request is kept, in
order, in :attr:`RecordedOpenAIServer.requests` for assertions.

Run it alone with ``python -m judgeval.testing.openai_server --port 8089``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import threading
import time
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from judgeval.testing import recorded_wire as wire
from judgeval.testing.recording import Recording, default_recordings, load_recordings


class RecordedOpenAIServer:
    """Serve recorded answers on ``127.0.0.1``; use as a context manager or call ``start``/``stop``."""

    def __init__(self, recordings: Iterable[Recording] | None = None, port: int = 0) -> None:
        self.recordings = list(recordings) if recordings is not None else default_recordings()
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._used: dict[int, int] = {}
        self._httpd = _ReplayHTTPServer(("127.0.0.1", port), _make_handler(self))
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """Value for ``OPENAI_BASE_URL``."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def anthropic_base_url(self) -> str:
        """Value for ``ANTHROPIC_BASE_URL`` (the Anthropic client adds ``/v1/messages`` itself)."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> RecordedOpenAIServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="openai-replay", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> RecordedOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log_request(self, body: dict[str, Any]) -> None:
        """Keep ``body`` in :attr:`requests` (handler threads call this concurrently)."""
        with self._lock:
            self.requests.append(body)

    def pick(self, body: dict[str, Any]) -> Recording | None:
        text = _request_text(body)
        with self._lock:
            self.requests.append(body)
            for index, rec in enumerate(self.recordings):
                if not rec.matches(text):
                    continue
                if rec.times is not None:
                    if self._used.get(index, 0) >= rec.times:
                        continue
                    self._used[index] = self._used.get(index, 0) + 1
                return rec
        return None


def _request_text(body: dict[str, Any]) -> str:
    parts: list[str] = []
    for message in body.get("messages", []) or []:
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(str(p.get("text", "")) for p in content if isinstance(p, dict))
    for key in ("input", "instructions", "system"):
        value = body.get(key)
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, list):
            parts.append(json.dumps(value))
    return "\n".join(parts)


class _ReplayHTTPServer(ThreadingHTTPServer):
    """A thread per connection, sized for clients that open hundreds of connections at once."""

    daemon_threads = True
    # socketserver's default backlog of 5 makes the kernel drop or reset connections when a judge pool
    # opens many at once (64+ concurrent scorer calls), which clients see as spurious connection errors.
    request_queue_size = 1024

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # the client went away mid-answer (its timeout fired): normal, not worth a traceback
        super().handle_error(request, client_address)


class _RecordedHandler(BaseHTTPRequestHandler):
    """Answers one HTTP request from the recordings of :attr:`recorded`."""

    recorded: RecordedOpenAIServer

    protocol_version = "HTTP/1.1"
    # Headers and body are written separately; with Nagle on, the body waits for the client's delayed
    # ACK (~40 ms on Linux), which added that much to every keep-alive answer.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        return

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except json.JSONDecodeError:
            self._json(400, _error("request body is not JSON", "invalid_request_error"))
            return
        endpoint = self.path.rstrip("/").rsplit("/", 1)[-1]
        if endpoint == "embeddings":
            self._embeddings(body)
        elif endpoint in _ANSWER_BUILDERS:
            self._answer(body, endpoint)
        else:
            self._json(404, _error(f"no such endpoint {self.path}", "invalid_request_error"))

    def _answer(self, body: dict[str, Any], endpoint: str) -> None:
        rec = self.recorded.pick(body)
        if rec is None:
            msg = "no recorded answer matches this request; add a recording"
            self._json(404, _error(msg, "not_found_error"))
            return
        if rec.delay_ms:
            time.sleep(rec.delay_ms / 1000)
        if rec.status != 200:
            self._json(rec.status, _error(f"recorded status {rec.status}", _error_type(rec.status)))
            return
        build_answer, build_events = _ANSWER_BUILDERS[endpoint]
        answer = build_answer(body, rec, wire.count_tokens(_request_text(body)))
        if body.get("stream"):
            self._stream(build_events(answer, rec, body), done_marker=endpoint == "completions")
        else:
            self._json(200, answer)

    def _stream(self, events: list[wire.SseEvent], done_marker: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        lines = [(f"event: {n}\n" if n else "") + f"data: {json.dumps(d)}\n\n" for n, d in events]
        try:
            for line in [*lines, "data: [DONE]\n\n"] if done_marker else lines:
                self.wfile.write(line.encode())
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            return  # the client closed the stream early, as clients may

    def _embeddings(self, body: dict[str, Any]) -> None:
        self.recorded.log_request(body)
        inputs = body.get("input")
        items = inputs if isinstance(inputs, list) else [inputs]
        data = [
            {"object": "embedding", "index": i, "embedding": _embedding(str(text))}
            for i, text in enumerate(items)
        ]
        tokens = sum(wire.count_tokens(str(t)) for t in items)
        self._json(
            200,
            {
                "object": "list",
                "data": data,
                "model": body.get("model", ""),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )

    def _json(self, status: int, obj: dict[str, Any]) -> None:
        payload = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def _make_handler(server: RecordedOpenAIServer) -> type[BaseHTTPRequestHandler]:
    return type("Handler", (_RecordedHandler,), {"recorded": server})


_ANSWER_BUILDERS: dict[str, tuple[Any, Any]] = {
    "completions": (wire.chat_completion, wire.chat_chunks),
    "responses": (wire.response_object, lambda answer, rec, body: wire.response_events(answer)),
    "messages": (wire.anthropic_message, lambda answer, rec, body: wire.anthropic_events(answer)),
}
"""Last path segment → (answer body builder, stream event builder)."""


def _embedding(text: str, dims: int = 16) -> list[float]:
    # Deterministic and content-dependent, so similar inputs can be grouped in tests.
    vec = [0.0] * dims
    for word in text.lower().split():
        vec[hash_word(word) % dims] += 1.0
    norm = sum(v * v for v in vec) ** 0.5 or 1.0
    return [v / norm for v in vec]


def hash_word(word: str) -> int:
    value = 2166136261
    for ch in word.encode():
        value = ((value ^ ch) * 16777619) & 0xFFFFFFFF
    return value


def _error(message: str, kind: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def _error_type(status: int) -> str:
    return {401: "invalid_api_key", 402: "insufficient_quota", 429: "rate_limit_exceeded"}.get(
        status, "server_error"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--recordings", help="JSON file of recordings (default: the shipped ones)")
    args = parser.parse_args(argv)
    recordings = load_recordings(args.recordings) if args.recordings else None
    server = RecordedOpenAIServer(recordings, port=args.port)
    print(f"OPENAI_BASE_URL={server.base_url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server._httpd.serve_forever()


if __name__ == "__main__":
    main()
