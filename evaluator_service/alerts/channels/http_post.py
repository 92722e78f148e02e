"""One HTTP POST of a channel, turned into a :class:`DeliveryAttempt` (never an exception).

aiohttp, not httpx: httpx logs every request's full URL at INFO, and a Slack webhook's URL is its secret.
Retryable: connection errors, timeouts, 408, 429 and 5xx. Any other non-2xx answer is the receiver refusing
this request (a bad key, an unknown route, a payload it rejects), which repeating will not fix. The
attempt's ``target`` and ``detail`` never contain the URL's path or query (they often hold a token) nor
the request's headers, and any secret a receiver repeats back is masked before its answer is shown.
"""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import aiohttp

from evaluator_service.alerts.notification import DeliveryAttempt

RETRYABLE_STATUS = frozenset({408, 429})
_BODY_EXCERPT = 200
_BODY_READ = 64 * 1024


def shown_url(url: str) -> str:
    """``url`` without credentials, path or query: webhook URLs often embed their secret token."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}/..." if parts.path.strip("/") or parts.query else f"{parts.scheme}://{host}"


def retryable_status(status: int) -> bool:
    """Would the same request possibly succeed later?"""
    return status in RETRYABLE_STATUS or status >= 500


def mask(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with every one of ``secrets`` replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


async def post(client: aiohttp.ClientSession, target: str, url: str, *, content: bytes,
               headers: dict[str, str], timeout_s: float, secrets: tuple[str, ...] = ()) -> DeliveryAttempt:
    """POST ``content`` to ``url``; ``target`` is the channel's shown name for the attempt. Any of
    ``secrets`` that a receiver echoes in its answer is masked in the detail."""
    try:
        async with client.post(url, data=content, headers=headers, allow_redirects=False,
                               timeout=aiohttp.ClientTimeout(total=timeout_s)) as response:
            status = response.status
            if 200 <= status < 300:
                return DeliveryAttempt(target, True, f"HTTP {status}", status_code=status)
            excerpt = _excerpt(await response.content.read(_BODY_READ), secrets)
            return DeliveryAttempt(target, False, f"HTTP {status}{excerpt}",
                                   retryable=retryable_status(status), status_code=status,
                                   retry_after_s=retry_after(response.headers.get("Retry-After")))
    except TimeoutError:
        return DeliveryAttempt(target, False, f"timed out after {timeout_s:g}s")
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        # The exception's text may quote the request URL; name only its kind and the OS reason.
        return DeliveryAttempt(target, False, mask(f"{type(exc).__name__}{_os_reason(exc)}", secrets))


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
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, OSError) and cause.strerror:
            return f": {cause.strerror}"
        cause = cause.__cause__ or cause.__context__
    return ""


def _excerpt(body: bytes, secrets: tuple[str, ...]) -> str:
    # Receivers explain refusals in the body (Slack ``invalid_blocks``, PagerDuty's ``errors``). Masked
    # before it is cut, so no part of a secret survives at the cut.
    text = " ".join(mask(body.decode(errors="replace"), secrets).split())[:_BODY_EXCERPT]
    return f": {text}" if text else ""
