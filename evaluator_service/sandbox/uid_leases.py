"""Host-wide leases on sandbox uids, so no two workers on one host ever run as the same uid, whichever
evaluator (or pool) started them.

A worker's uid of its own is what keeps its ``RLIMIT_NPROC`` its own; two evaluators on one host with the
same (default) ``uid_base`` used to hand out the same uids, so one's fork bomb counted against the other's
workers. Each uid handed out is now leased by an exclusive ``flock`` on ``<lease dir>/<uid>.lock``, held
for as long as the worker lives; a uid whose lock anyone else holds is skipped. The kernel drops the lock
when the holder dies, however it dies (SIGKILL included), so a lease never outlives its evaluator and no
stale state needs cleaning. The files stay (one per uid ever used at once); an unlinked lock file could be
locked twice.

The default lease directory, ``/run/judgeval-sandbox-uids``, is shared by every evaluator that sees the
same ``/run``: evaluators in separate containers that run as the host's root must each set their own
``uid_base`` (or share that directory with a volume).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
from pathlib import Path

DEFAULT_LEASE_DIR = Path("/run/judgeval-sandbox-uids")


class UidLeases:
    """The uids this process holds leases on, taken one at a time from a range."""

    def __init__(self, directory: Path = DEFAULT_LEASE_DIR) -> None:
        self.directory = directory
        self._held: dict[int, int] = {}

    def open(self) -> None:
        """Create the lease directory (root-owned, 0700); raises ``OSError`` naming the problem."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = os.lstat(self.directory)
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
            raise OSError(f"{self.directory} must be a directory owned by uid {os.geteuid()}, not writable "
                          "by others")

    def take(self, first: int, count: int) -> int | None:
        """Lease the lowest uid of ``[first, first + count)`` nobody holds; ``None`` when all are held."""
        for uid in range(first, first + count):
            if uid in self._held:
                continue
            flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW
            fd = os.open(self.directory / f"{uid}.lock", flags, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            self._held[uid] = fd
            return uid
        return None

    def release(self, uid: int) -> None:
        """Give ``uid`` back (its worker is gone)."""
        fd = self._held.pop(uid, None)
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)  # closing the only descriptor of the open file drops the flock

    def close(self) -> None:
        """Give every lease back."""
        for uid in list(self._held):
            self.release(uid)
