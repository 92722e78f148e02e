"""Authentication of the admin API: the bearer key check, failed attempts logged and throttled per client.

Every admin service (scorers, alerts, behaviors) calls :meth:`AdminAuth.authorize` first. A wrong key is
``UNAUTHENTICATED`` and logged with the client's address (rate-limited, see
:class:`~evaluator_service.log_throttle.LogThrottle`). After :data:`FAILURE_LIMIT` wrong keys from one
address within :data:`FAILURE_WINDOW_S` seconds, that address is refused with ``RESOURCE_EXHAUSTED``
without its key being checked, until the window has passed, so guessing the key costs a minute per few
guesses. Other addresses, and callers with the right key from them, are not slowed: the check itself
stays a constant-time comparison with no delay. A missing key guesses nothing and is not counted.
"""

from __future__ import annotations

import hmac
import logging
import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable

import grpc
from judgeval.environment_variables import JUDGMENT_API_KEY

from evaluator_service.log_throttle import LogThrottle, peer_host, suppressed_note

logger = logging.getLogger(__name__)

FAILURE_LIMIT = 10
"""Wrong keys one client address may send within :data:`FAILURE_WINDOW_S` before it is refused."""

FAILURE_WINDOW_S = 60.0

MAX_TRACKED_CLIENTS = 10_000
"""Addresses with recent failures remembered at most (the oldest are forgotten first)."""


class AdminAuth:
    """The evaluator's admin key and the failed-attempt record of its clients; share one instance between
    all admin services of an evaluator so a client's failures count against it on every service."""

    def __init__(self, api_key: str | None, *, failure_limit: int = FAILURE_LIMIT,
                 window_s: float = FAILURE_WINDOW_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.api_key = api_key or None
        self.failure_limit = failure_limit
        self.window_s = window_s
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._log = LogThrottle(interval_s=10.0)

    @classmethod
    def of(cls, auth: AdminAuth | str | None) -> AdminAuth:
        """``auth`` itself, or a new :class:`AdminAuth` for a plain key (``None``: no key configured)."""
        return auth if isinstance(auth, AdminAuth) else cls(auth)

    async def authorize(self, context: grpc.aio.ServicerContext, purpose: str = "scorer administration"
                        ) -> None:
        """Abort the call unless it carries ``authorization: Bearer <api_key>``: ``FAILED_PRECONDITION`` when
        the evaluator has no key (``purpose`` names what a key would enable), ``RESOURCE_EXHAUSTED`` while
        the client is throttled, else ``UNAUTHENTICATED``."""
        if self.api_key is None:
            await context.abort(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"the evaluator has no admin API key; start it with {JUDGMENT_API_KEY}=<secret> in its "
                f"environment to enable {purpose}",
            )
            return
        client = peer_host(context.peer())
        retry_in = self._locked_for(client)
        if retry_in > 0:
            self._warn(client, f"refused admin call from {client}: too many wrong API keys")
            await context.abort(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"too many failed admin authentications from {client}; retry in {math.ceil(retry_in)} s",
            )
        metadata = dict(context.invocation_metadata() or ())
        header = metadata.get("authorization", "")
        token = header[7:] if isinstance(header, str) and header[:7].lower() == "bearer " else ""
        if token and hmac.compare_digest(token.encode(), self.api_key.encode()):
            return
        if token:
            count = self._record_failure(client)
            self._warn(client, f"failed admin authentication from {client}: wrong API key "
                               f"({count} in the last {self.window_s:g} s)")
        else:
            self._warn(client, f"admin call without an API key from {client}")
        reason = "missing" if not token else "invalid"
        await context.abort(grpc.StatusCode.UNAUTHENTICATED,
                            f"{reason} API key; send 'authorization: Bearer <{JUDGMENT_API_KEY}>'")

    def _recent(self, client: str) -> deque[float] | None:
        failures = self._failures.get(client)
        if failures is None:
            return None
        horizon = self._clock() - self.window_s
        while failures and failures[0] <= horizon:
            failures.popleft()
        if not failures:
            del self._failures[client]
            return None
        return failures

    def _locked_for(self, client: str) -> float:
        """Seconds until ``client`` may try again (0: it may now)."""
        failures = self._recent(client)
        if failures is None or len(failures) < self.failure_limit:
            return 0.0
        return failures[-self.failure_limit] + self.window_s - self._clock()

    def _record_failure(self, client: str) -> int:
        failures = self._recent(client)
        if failures is None:
            failures = self._failures[client] = deque(maxlen=self.failure_limit)
        failures.append(self._clock())
        self._failures.move_to_end(client)
        while len(self._failures) > MAX_TRACKED_CLIENTS:
            self._failures.popitem(last=False)
        return len(failures)

    def _warn(self, client: str, message: str) -> None:
        suppressed = self._log.admit(client)
        if suppressed is not None:
            logger.warning("%s%s", message, suppressed_note(suppressed))
