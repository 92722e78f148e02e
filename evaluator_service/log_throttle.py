"""Rate-limited logging for events an attacker can repeat at will (malformed requests, wrong admin keys).

One line per event would let a client fill the disk and bury real errors; no line at all hides an attack.
:class:`LogThrottle` keeps the middle: the first event of a kind gets a line, then at most one line per
interval, and each line says how many similar events it stands for.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable


class LogThrottle:
    """Decides which events of a key get a log line: the first, then at most one per ``interval_s``.

    At most ``max_keys`` keys are remembered (the least recently logged are forgotten first), so a client
    varying the key cannot grow memory without bound."""

    def __init__(self, interval_s: float = 10.0, max_keys: int = 1024,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.interval_s = interval_s
        self._max_keys = max_keys
        self._clock = clock
        self._keys: OrderedDict[str, tuple[float, int]] = OrderedDict()
        """key -> (when its last line was logged, events suppressed since)."""

    def admit(self, key: str) -> int | None:
        """``None`` when this event gets no line; else how many events of ``key`` were suppressed since its
        previous line (the caller's line should say so)."""
        now = self._clock()
        last = self._keys.get(key)
        if last is not None and now - last[0] < self.interval_s:
            self._keys[key] = (last[0], last[1] + 1)
            return None
        self._keys[key] = (now, 0)
        self._keys.move_to_end(key)
        while len(self._keys) > self._max_keys:
            self._keys.popitem(last=False)
        return last[1] if last is not None else 0


def suppressed_note(count: int) -> str:
    """The suffix of a throttled line: ``""`` or ``" (and 41 more since the last such line)"``."""
    return f" (and {count} more since the last such line)" if count else ""


def peer_host(peer: str | None) -> str:
    """The client's address without its port, from a gRPC peer string (``ipv4:10.0.0.7:53211``,
    ``ipv6:[::1]:4711``, ``unix:/path``): one client opening new connections keeps one identity."""
    if not peer:
        return "unknown"
    kind, _, rest = peer.partition(":")
    if kind == "ipv6" and rest.startswith("["):
        return rest[1:].partition("]")[0]
    if kind == "ipv4":
        return rest.rpartition(":")[0] or rest
    return peer
