"""One HTTP POST of a channel, turned into a :class:`DeliveryAttempt` (never an exception).

Retryable: connection errors, timeouts, 408, 429 and 5xx. Any other non-2xx answer is the receiver refusing
this request (a bad key, an unknown route, a payload it rejects), which repeating will not fix. The
attempt's ``target`` and ``detail`` never contain the URL's path or query (they often hold a token) nor
the request's headers.
"""

from __future__ import annotations

import time
from dataclasses import replace
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import httpx

from evaluator_service.alerts.notification import DeliveryAttempt

RETRYABLE_STATUS = frozenset({408, 429})
_BODY_EXCERPT = 200


def shown_url(url: str) -> str:
    """``url`` without credentials, path or query: webhook URLs often embed their secret token."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}/..." if parts.path.strip("/") or parts.query else f"{parts.scheme}://{host}"


def retryable_status(status: int) -> bool:
    """Would the same request possibly succeed later?"""
    return status in RETRYABLE_STATUS or status >= 500


async def post(client: httpx.AsyncClient, target: str, url: str, *, content: bytes,
               headers: dict[str, str], timeout_s: float, secrets: tuple[str, ...] = ()) -> DeliveryAttempt:
    """POST ``content`` to ``url``; ``target`` is the channel's shown name for the attempt. Any of
    ``secrets`` that a receiver echoes in its answer is masked in the detail."""
    attempt = await _post(client, target, url, content=content, headers=headers, timeout_s=timeout_s)
    detail = attempt.detail
    for secret in secrets:
        if secret:
            detail = detail.replace(secret, "***")
    return attempt if detail == attempt.detail else replace(attempt, detail=detail)


async def _post(client: httpx.AsyncClient, target: str, url: str, *, content: bytes,
                headers: dict[str, str], timeout_s: float) -> DeliveryAttempt:
    try:
        response = await client.post(url, content=content, headers=headers, timeout=timeout_s)
    except httpx.TimeoutException:
        return DeliveryAttempt(target, False, f"timed out after {timeout_s:g}s")
    except httpx.HTTPError as exc:
        # The exception's text may quote the request URL; name only its kind and the OS reason.
        return DeliveryAttempt(target, False, f"{type(exc).__name__}{_os_reason(exc)}")
    status = response.status_code
    if response.is_success:
        return DeliveryAttempt(target, True, f"HTTP {status}", status_code=status)
    return DeliveryAttempt(target, False, f"HTTP {status}{_excerpt(response)}",
                           retryable=retryable_status(status), status_code=status,
                           retry_after_s=retry_after(response.headers.get("Retry-After")))


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); ``None`` if absent or
    unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _os_reason(exc: BaseException) -> str:
    cause = exc.__cause__ or exc.__context__
    while cause is not None:
        if isinstance(cause, OSError) and cause.strerror:
            return f": {cause.strerror}"
        cause = cause.__cause__ or cause.__context__
    return ""


def _excerpt(response: httpx.Response) -> str:
    # Receivers explain refusals in the body (Slack ``invalid_blocks``, PagerDuty's ``errors``).
    text = " ".join(response.text.split())[:_BODY_EXCERPT]
    return f": {text}" if text else ""
