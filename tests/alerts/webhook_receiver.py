"""A real local HTTP webhook endpoint (``http.server`` on port 0 in a thread) recording every POST."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class ReceivedPost:
    """One POST as received, with the status we answered."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    status: int


class WebhookReceiver:
    """Answers 200, or 500 to the first ``fail_first`` POSTs (to exercise retries)."""

    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.posts: list[ReceivedPost] = []
        self._changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                with receiver._changed:
                    status = 500 if receiver.fail_first > 0 else 200
                    receiver.fail_first -= 1
                    receiver.posts.append(ReceivedPost(self.path, dict(self.headers), body, status))
                    receiver._changed.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def accepted(self, state: str | None = None, alert: str | None = None) -> list[dict[str, Any]]:
        """Bodies of POSTs answered 200, optionally only of one state / alert."""
        with self._changed:
            return [p.body for p in self.posts if p.status == 200
                    and (state is None or p.body.get("state") == state)
                    and (alert is None or p.body.get("alert") == alert)]

    def wait_for(self, count: int, state: str | None = None, alert: str | None = None,
                 timeout: float = 20.0) -> list[dict[str, Any]]:
        """Block until at least ``count`` matching POSTs were accepted; raises ``TimeoutError``."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.accepted(state, alert)) >= count, timeout):
                seen = [(p.body.get("alert"), p.body.get("state"), p.status) for p in self.posts]
                raise TimeoutError(f"expected {count} {state or ''} notification(s) for "
                                   f"{alert or 'any alert'}, got {seen}")
            return self.accepted(state, alert)
