"""A client of Jaeger's query HTTP API, the JSON API behind its UI (port 16686 by default).

::

    jaeger = JaegerQueryClient("http://jaeger:16686")
    jaeger.services()                                   # ["checkout", ...]
    jaeger.get_trace("4bf92f3577b34da6a3ce929d0e0e4736")   # StoredTrace, or None
    jaeger.find_traces("checkout", start=week_ago, end=now,
                       operation="chat gpt-4o", tags={"gen_ai.operation.name": "chat"})

``GET /api/traces`` takes a ``service`` (required), an ``operation``, ``tags`` (a JSON object; a trace
matches when one of its spans carries every tag, among its own tags, its process's tags or its logs' fields),
``start`` and ``end`` (microseconds) and ``limit`` (traces per answer). Jaeger answers at most ``limit``
traces per query and says nothing about the rest, so :meth:`JaegerQueryClient.find_traces` pages by time
windows: a window that comes back full is split in two and each half asked again, until every window holds
fewer than :attr:`JaegerQueryClient.page_limit` traces. Traces come back whole (every span Jaeger holds,
the non-matching ones too), oldest window first; the caller picks the spans it wants
(:mod:`evaluator_service.backfill.selection` does). Answers are converted to OTLP protobuf
(:mod:`evaluator_service.backends.jaeger_model`). Every failure is a
:class:`~evaluator_service.backends.errors.BackendQueryError` naming the URL: unreachable, timed out,
refused (Jaeger's own message quoted), or not Jaeger at all.

The client is synchronous (``httpx``); the evaluator calls it from a worker thread.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from evaluator_service.backends.errors import BackendQueryError, BackendRefused, BackendUnreachable
from evaluator_service.backends.jaeger_model import stored_traces
from evaluator_service.backends.stored_spans import StoredTrace

DEFAULT_TIMEOUT_S = 10.0
"""Seconds one HTTP request to Jaeger may take (connect and read)."""

DEFAULT_PAGE_LIMIT = 200
"""Traces asked per query (Jaeger's ``limit``); a window answering this many is split."""

MIN_WINDOW = timedelta(milliseconds=1)
"""The shortest window :meth:`JaegerQueryClient.find_traces` splits down to."""


class JaegerQueryClient:
    """Reads spans back from one Jaeger query service (``base_url`` like ``http://jaeger:16686``, with the
    UI's base path if it has one)."""

    def __init__(
        self, base_url: str, *, timeout_s: float = DEFAULT_TIMEOUT_S, page_limit: int = DEFAULT_PAGE_LIMIT,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise BackendQueryError(f"Jaeger query URL {base_url!r} must start with http:// or https://")
        if page_limit < 2:
            raise BackendQueryError(f"page_limit must be at least 2, not {page_limit}")
        self.base_url = base_url.rstrip("/")
        self.page_limit = page_limit
        self._client = httpx.Client(timeout=timeout_s, headers=dict(headers or {}))
        self.queries = 0
        """HTTP requests made so far (paging shows here)."""

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> JaegerQueryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def services(self) -> list[str]:
        """The services Jaeger holds spans of (``GET /api/services``)."""
        return sorted(str(s) for s in self._get("/api/services", {}).get("data") or [])

    def operations(self, service: str) -> list[str]:
        """The span names Jaeger holds for ``service`` (``GET /api/services/{service}/operations``)."""
        document = self._get(f"/api/services/{_quote(service)}/operations", {})
        return sorted(str(o) for o in document.get("data") or [])

    def get_trace(self, trace_id: str) -> StoredTrace | None:
        """The trace with this hex id (every span Jaeger holds of it); ``None`` when Jaeger has none."""
        cleaned = trace_id.strip().lower()
        if not cleaned or len(cleaned) > 32 or any(c not in "0123456789abcdef" for c in cleaned):
            raise BackendRefused(f"{trace_id!r} is not a trace id (up to 32 hex digits)")
        document = self._get(f"/api/traces/{cleaned}", {}, missing_ok=True)
        traces = self._traces(document) if document is not None else []
        return traces[0] if traces else None

    def find_traces(
        self, service: str, *, start: datetime, end: datetime, operation: str | None = None,
        tags: Mapping[str, str] | None = None, limit: int | None = None,
    ) -> list[StoredTrace]:
        """Traces with a span of ``service`` (named ``operation``, carrying every one of ``tags``) that
        started in ``[start, end]``, oldest window first, each once; at most ``limit`` traces if given."""
        return list(self.iter_traces(service, start=start, end=end, operation=operation, tags=tags,
                                     limit=limit))

    def iter_traces(
        self, service: str, *, start: datetime, end: datetime, operation: str | None = None,
        tags: Mapping[str, str] | None = None, limit: int | None = None,
    ) -> Iterator[StoredTrace]:
        """:meth:`find_traces` one trace at a time, querying Jaeger window by window as it goes."""
        if not service:
            raise BackendRefused("Jaeger searches one service at a time: a service name is required")
        if _aware(end) <= _aware(start):
            raise BackendRefused(f"the time range is empty: end {end.isoformat()} is not after start "
                                 f"{start.isoformat()}")
        params: dict[str, str] = {"service": service, "limit": str(self.page_limit)}
        if operation:
            params["operation"] = operation
        if tags:
            params["tags"] = json.dumps({str(k): str(v) for k, v in tags.items()})
        seen: set[str] = set()
        windows = [(_micros(start), _micros(end))]
        while windows:
            low, high = windows.pop()
            traces = self._traces(self._get("/api/traces", {**params, "start": str(low), "end": str(high)}))
            if len(traces) >= self.page_limit:
                if high - low <= MIN_WINDOW // timedelta(microseconds=1):
                    raise BackendQueryError(
                        f"Jaeger at {self.base_url} holds {len(traces)} or more matching traces within "
                        f"{MIN_WINDOW.total_seconds() * 1000:g} ms at {_iso(low)}; raise the page limit "
                        f"(now {self.page_limit}) to read them all")
                middle = (low + high) // 2
                windows += [(middle + 1, high), (low, middle)]  # the older half is popped first
                continue
            for trace in sorted(traces, key=_first_start):
                if trace.trace_id in seen:
                    continue
                seen.add(trace.trace_id)
                yield trace
                if limit is not None and len(seen) >= limit:
                    return

    def _traces(self, document: Mapping[str, Any]) -> list[StoredTrace]:
        try:
            return stored_traces(document)
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            raise BackendQueryError(
                f"{self.base_url} answered a document that is not Jaeger's trace model "
                f"({type(exc).__name__}: {exc}); is it Jaeger's query port (16686)?") from None

    def _get(self, path: str, params: Mapping[str, str], missing_ok: bool = False) -> Any:
        url = self.base_url + path
        self.queries += 1
        try:
            response = self._client.get(url, params=params)
        except httpx.TimeoutException:
            raise BackendUnreachable(f"Jaeger at {self.base_url} did not answer within "
                                     f"{self._client.timeout.read}s") from None
        except httpx.HTTPError as exc:
            raise BackendUnreachable(f"Jaeger at {self.base_url} is unreachable: {exc}") from None
        if response.status_code == 404 and missing_ok:
            return None
        document = _json(response)
        if response.status_code >= 400:
            reason = _jaeger_errors(document) or response.text[:300].strip()
            if response.status_code == 404 and not _jaeger_errors(document):
                reason += " (is it Jaeger's query port (16686) and its base path?)"
            raise BackendRefused(f"Jaeger at {self.base_url} refused {path}: HTTP {response.status_code}: "
                                 f"{reason}")
        if not isinstance(document, dict) or "data" not in document:
            raise BackendQueryError(
                f"{url} did not answer with Jaeger's query API JSON (HTTP {response.status_code}, "
                f"{response.headers.get('content-type', 'no content type')}); is it Jaeger's query port "
                "(16686) and its base path?")
        return document


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _jaeger_errors(document: Any) -> str:
    """Jaeger's own messages from an error answer (``{"errors": [{"code": 400, "msg": ...}]}``)."""
    if not isinstance(document, dict):
        return ""
    return "; ".join(str(e.get("msg", e)) for e in document.get("errors") or [] if isinstance(e, dict))


def _quote(segment: str) -> str:
    return urllib.parse.quote(segment, safe="")


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _micros(moment: datetime) -> int:
    return int(_aware(moment).timestamp() * 1_000_000)


def _iso(micros: int) -> str:
    return datetime.fromtimestamp(micros / 1_000_000, UTC).isoformat()


def _first_start(trace: StoredTrace) -> int:
    return min((s.span.start_time_unix_nano for s in trace.spans), default=0)
