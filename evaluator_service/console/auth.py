"""Console login: a key typed into a form, then a signed session cookie; never a key in a URL.

Two keys log in: the admin key (role ``admin``: may rename, merge and dismiss issues) and the optional
read-only console key (role ``read``). The session cookie is signed (``itsdangerous``) with a secret
derived from the configured keys, so every replica with the same keys accepts it, and changing a key logs
everybody out. It carries the role, the login time and a random CSRF token that every write form posts
back; it is ``HttpOnly``, ``SameSite=Strict``, ``Secure`` over TLS, and expires after
``console.session_ttl``. Wrong keys are throttled per client address like the admin API's.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer

from evaluator_service.log_throttle import LogThrottle, suppressed_note

logger = logging.getLogger(__name__)

ADMIN = "admin"
READ = "read"
COOKIE_NAME = "judgeval_console"
FAILURE_LIMIT = 10
FAILURE_WINDOW_S = 60.0
MAX_TRACKED_CLIENTS = 10_000


@dataclass(frozen=True)
class Session:
    """Who is logged in: ``role`` is :data:`ADMIN` or :data:`READ`; ``csrf`` is what write forms post."""

    role: str
    csrf: str

    @property
    def can_write(self) -> bool:
        return self.role == ADMIN


def _signer_on(clock: Callable[[], float]) -> type[TimestampSigner]:
    """A ``TimestampSigner`` whose "now" is ``clock`` (the cookie's issue time and its age check)."""

    class ClockedSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(clock())

    return ClockedSigner


class ConsoleAuth:
    """Checks keys, issues and reads session cookies, throttles clients guessing keys."""

    def __init__(self, admin_key: str | None, read_key: str | None, ttl_s: float,
                 clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time) -> None:
        self._keys = {role: key for role, key in ((ADMIN, admin_key), (READ, read_key)) if key}
        material = "\0".join(f"{role}={key}" for role, key in sorted(self._keys.items()))
        secret = hmac.new(material.encode(), b"judgeval-console-session", hashlib.sha256).hexdigest()
        self._serializer = URLSafeTimedSerializer(secret, salt="judgeval-console",
                                                  signer=_signer_on(wall_clock))
        self.ttl_s = ttl_s
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._log = LogThrottle(interval_s=10.0)

    def role_of(self, key: str) -> str | None:
        """The role ``key`` logs in as, or ``None``; constant-time against each configured key."""
        found = None
        for role, expected in self._keys.items():
            if hmac.compare_digest(key.encode(), expected.encode()):
                found = role
        return found

    def new_cookie(self, role: str) -> str:
        """A signed cookie value for a fresh session of ``role``."""
        return self._serializer.dumps({"r": role, "c": secrets.token_urlsafe(24)})

    def session(self, cookie: str | None) -> Session | None:
        """The session a cookie value holds, or ``None`` when missing, forged, expired or of a role
        whose key is no longer configured."""
        if not cookie:
            return None
        try:
            data = self._serializer.loads(cookie, max_age=int(self.ttl_s))
        except BadSignature:
            return None
        if not isinstance(data, dict) or data.get("r") not in self._keys:
            return None
        if not isinstance(data.get("c"), str):
            return None
        return Session(role=data["r"], csrf=data["c"])

    def retry_in(self, client: str) -> float:
        """Seconds until ``client`` may try a key again (0: now)."""
        window = self._prune(client)
        if window is None or len(window) < FAILURE_LIMIT:
            return 0.0
        return max(0.0, window[0] + FAILURE_WINDOW_S - self._clock())

    def failed(self, client: str) -> None:
        """Count a wrong key from ``client`` (and log it, at most one line per client per 10 s)."""
        window = self._failures.setdefault(client, deque())
        suppressed = self._log.admit(client)
        if suppressed is not None:
            logger.warning("console: wrong key from %s%s", client, suppressed_note(suppressed))
        self._failures.move_to_end(client)
        window.append(self._clock())
        while len(self._failures) > MAX_TRACKED_CLIENTS:
            self._failures.popitem(last=False)

    def _prune(self, client: str) -> deque[float] | None:
        window = self._failures.get(client)
        if window is None:
            return None
        cutoff = self._clock() - FAILURE_WINDOW_S
        while window and window[0] < cutoff:
            window.popleft()
        if not window:
            del self._failures[client]
            return None
        return window


def csrf_matches(session: Session, posted: object) -> bool:
    """Whether a form's posted CSRF token is the session's."""
    return isinstance(posted, str) and hmac.compare_digest(posted.encode(), session.csrf.encode())
