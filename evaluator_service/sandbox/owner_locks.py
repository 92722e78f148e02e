"""Which evaluator instance owns a sandbox resource (its cgroups, its run directory), and whether that
instance is still alive, in a way that holds across PID namespaces.

Each evaluator instance gets a random id (:func:`new_instance_id`), names its resources after it, and
holds an exclusive ``flock`` on ``<lock dir>/<id>.lock`` for as long as it lives. The kernel drops the
lock when the holder dies, however it dies (SIGKILL included). Another evaluator judging a resource named
after an id takes that lock without waiting: taken, the owner is gone and the resource is stale (and the
lock keeps two cleaners apart); held, the owner lives. A pid could not say this: a pid means nothing
outside its PID namespace (an evaluator in a container, or behind the PID 1 reaper of
``init_process.py``, saw every host evaluator as dead), and two namespaces reuse the same small pids.
Without a lock file the owner is unknown here (another ``/run``, another work root, an older evaluator
that named its resources after its pid): such resources are left alone.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import stat
import uuid
from pathlib import Path

_INSTANCE_ID = re.compile(r"[0-9a-f]{32}")


def new_instance_id() -> str:
    """A fresh id for one evaluator instance (32 hex digits, never reused)."""
    return uuid.uuid4().hex


def is_instance_id(text: str) -> bool:
    """Whether ``text`` is an id :func:`new_instance_id` makes (not, e.g., an older evaluator's pid)."""
    return _INSTANCE_ID.fullmatch(text) is not None


def open_lock_dir(directory: Path, mode: int = 0o700) -> None:
    """Create ``directory`` if needed; raises ``OSError`` unless it is a real directory owned by this
    user and not writable by others (whoever could write it could fake or remove an owner's lock)."""
    directory.mkdir(mode=mode, parents=True, exist_ok=True)
    info = os.lstat(directory)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
        raise OSError(f"{directory} must be a directory owned by uid {os.geteuid()}, not writable by others")


class OwnerLock:
    """An exclusive ``flock`` on ``<directory>/<instance>.lock``, held by this process."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def hold(cls, directory: Path, instance: str) -> OwnerLock:
        """Take the lock of this process's own ``instance`` (a fresh id); raises ``OSError``."""
        path = directory / f"{instance}.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise
        return cls(path, fd)

    @classmethod
    def claim_if_gone(cls, directory: Path, instance: str) -> OwnerLock | None:
        """The lock of ``instance`` when its owner is gone (now held by us, so nobody else cleans up at
        the same time); ``None`` while the owner holds it, or when there is no lock file here."""
        path = directory / f"{instance}.lock"
        try:
            fd = os.open(path, os.O_RDWR | os.O_CLOEXEC | os.O_NOFOLLOW)
        except OSError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return None
        return cls(path, fd)

    def release(self, *, forget: bool = True) -> None:
        """Drop the lock; with ``forget`` (everything of the instance is removed) also the lock file,
        which nobody will lock again: instance ids are never reused. Unlinked while still held, so a
        cleaner that opened it meanwhile finds it locked and leaves the instance alone."""
        if self._fd is None:
            return
        if forget:
            with contextlib.suppress(OSError):
                self.path.unlink()
        with contextlib.suppress(OSError):
            os.close(self._fd)
        self._fd = None
