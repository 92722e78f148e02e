"""What this host gives the sandbox, decided once when the evaluator starts: bubblewrap, cgroups, uids.

:meth:`SandboxIsolation.prepare` refuses (:class:`SandboxUnavailable`, one line naming the missing tool)
when ``isolation: bwrap`` is configured and ``bwrap`` or ``libseccomp`` is missing, and says at startup
when per-worker cgroups cannot be used (then only rlimits bound a worker's memory and processes).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from evaluator_service.errors import EvaluatorError
from evaluator_service.sandbox.cgroups import DEFAULT_OWNER_LOCK_DIR, CgroupManager, CgroupsUnavailable
from evaluator_service.sandbox.config import SandboxConfig
from evaluator_service.sandbox.egress_proxy import EgressLedger
from evaluator_service.sandbox.owner_locks import OwnerLock, is_instance_id, new_instance_id, open_lock_dir
from evaluator_service.sandbox.plan import Identity
from evaluator_service.sandbox.uid_leases import UidLeases

_log = logging.getLogger(__name__)


class SandboxUnavailable(EvaluatorError, RuntimeError):
    """The configured isolation cannot be provided on this host; the message names what is missing."""


@dataclass
class SandboxIsolation:
    """The sandbox facilities of this host and the per-worker resources handed out from them."""

    config: SandboxConfig
    bwrap: str | None
    seccomp_filter: bytes
    cgroups: CgroupManager | None
    run_dir: Path
    ledger: EgressLedger
    root: bool = field(default_factory=lambda: os.geteuid() == 0)
    uid_leases: UidLeases = field(default_factory=UidLeases)
    instance: str = field(default_factory=new_instance_id)
    """Names this evaluator's cgroup parent and run directory (see ``owner_locks.py``)."""
    owner_locks: list[OwnerLock] = field(default_factory=list)
    _socket_dir: Path | None = None

    @classmethod
    def prepare(cls, config: SandboxConfig) -> SandboxIsolation:
        """Check the host once; raises :class:`SandboxUnavailable` rather than silently degrade."""
        bwrap, seccomp_filter = None, b""
        if config.isolation == "bwrap":
            bwrap = shutil.which("bwrap")
            if bwrap is None:
                raise SandboxUnavailable(
                    "uploaded scorers need bubblewrap: 'bwrap' was not found on PATH (install Debian's "
                    "'bubblewrap' package, e.g. scripts/ensure-sandbox-tools), or choose the weaker "
                    "sandbox.isolation: none")
            seccomp_filter = _compile_seccomp()
            _check_user_namespaces(bwrap)
        instance, owner_locks = new_instance_id(), list[OwnerLock]()
        try:
            cgroups = _detect_cgroups(bwrap is not None, instance, owner_locks)
            run_dir = _run_dir(config, instance, owner_locks)
        except BaseException:
            for lock in owner_locks:
                lock.release()
            raise
        ledger = EgressLedger(config.limits.llm_calls_per_s_per_scorer)
        isolation = cls(config, bwrap, seccomp_filter, cgroups, run_dir, ledger, instance=instance,
                        owner_locks=owner_locks)
        if isolation.root and bwrap is not None:
            try:
                isolation.uid_leases.open()
            except OSError as exc:
                isolation.close()  # its cgroup parent, run directory and owner locks
                raise SandboxUnavailable(f"cannot lease sandbox uids: {exc}") from None
        return isolation

    @property
    def description(self) -> str:
        """``bwrap+cgroups``, ``bwrap+rlimits``, ``rlimits-only`` ... for logs and tests."""
        base = "bwrap" if self.bwrap else "rlimits-only"
        return f"{base}+cgroups-v{self.cgroups.version}" if self.cgroups else base

    def take_identity(self) -> Identity | None:
        """A uid of its own for one worker, leased host-wide (so no worker's processes count against
        another's ``RLIMIT_NPROC``, even another evaluator's); ``None`` when the evaluator is not root and
        cannot switch users, and in the weaker ``isolation: none`` mode (the worker could not reach an
        interpreter or venv only root can enter)."""
        if not self.root or self.bwrap is None:
            return None
        uid = self.uid_leases.take(self.config.uid_base, self.config.uid_count)
        if uid is None:
            raise SandboxUnavailable(
                f"all {self.config.uid_count} sandbox uids from {self.config.uid_base} are in use by this or "
                f"another evaluator on this host (leases in {self.uid_leases.directory}): raise "
                "sandbox.uid_count or give each evaluator its own sandbox.uid_base")
        return Identity(uid, uid)

    def release_identity(self, identity: Identity | None) -> None:
        """The worker holding ``identity`` is gone."""
        if identity is not None:
            self.uid_leases.release(identity.uid)

    def new_socket_path(self) -> Path:
        """A fresh path for one worker's egress proxy socket: in :attr:`run_dir`, or in a short directory of
        its own under ``/tmp`` when the run dir's path would not fit a Unix socket address (108 bytes; a long
        ``TMPDIR`` or ``work_root``). The sandbox sees the socket at a fixed path either way."""
        name = f"{uuid.uuid4().hex[:16]}.sock"
        if len(os.fsencode(self.run_dir / name)) < _UNIX_PATH_MAX:
            return self.run_dir / name
        if self._socket_dir is None:
            self._socket_dir = _short_socket_dir(self.instance)
        return self._socket_dir / name

    def close(self) -> None:
        """Remove this evaluator's cgroup parents and runtime directory; give the uid leases and the owner
        locks back."""
        self.uid_leases.close()
        if self.cgroups is not None:
            self.cgroups.close()
        shutil.rmtree(self.run_dir, ignore_errors=True)
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
        for lock in self.owner_locks:
            lock.release()
        self.owner_locks.clear()


def _detect_cgroups(bwrap: bool, instance: str, owner_locks: list[OwnerLock]) -> CgroupManager | None:
    """Per-worker cgroups, or ``None`` after one start-up warning naming what bounds a worker instead.
    As root, the owner lock of the cgroup parent is taken first (added to ``owner_locks``), so no other
    evaluator ever sees the parent without its owner's lock held."""
    try:
        if os.geteuid() == 0:
            try:
                open_lock_dir(DEFAULT_OWNER_LOCK_DIR)
                owner_locks.append(OwnerLock.hold(DEFAULT_OWNER_LOCK_DIR, instance))
            except OSError as exc:
                raise CgroupsUnavailable(f"cannot hold the owner lock of the cgroups: {exc}") from None
        cgroups = CgroupManager.detect(instance)
    except CgroupsUnavailable as exc:
        if bwrap and os.geteuid() != 0:
            per_sandbox = ("per sandbox by RLIMIT_NPROC in its own user namespace" if
                           counts_nproc_per_user_namespace(os.uname().release) else
                           "by RLIMIT_NPROC counted over ALL sandboxes together (this kernel is older than "
                           "5.14: one scorer's fork bomb can stop the others)")
            _log.warning("scorer sandbox: the evaluator runs as uid %d, not root: every worker runs as that "
                         "uid (no uid of its own), processes are bounded %s, memory per process by RLIMIT_AS "
                         "only, no cgroups (%s; weaker: see sandbox README)", os.geteuid(), per_sandbox, exc)
        else:
            _log.warning("scorer sandbox: per-worker cgroups unavailable (%s); a worker's memory and "
                         "processes are bounded per process by rlimits only (weaker: see sandbox README)",
                         exc)
        return None
    if bwrap and os.geteuid() != 0:
        _log.warning("scorer sandbox: the evaluator runs as uid %d, not root: every worker runs as that uid "
                     "(no uid of its own); memory, processes and CPU are bounded per worker by the delegated "
                     "cgroups (v%d) and processes also by RLIMIT_NPROC in each sandbox's own user namespace "
                     "(see sandbox README)", os.geteuid(), cgroups.version)
    return cgroups


def counts_nproc_per_user_namespace(kernel_release: str) -> bool:
    """Whether this kernel counts ``RLIMIT_NPROC`` per user in each user namespace (Linux 5.14+)."""
    numbers = [int(part) for part in re.findall(r"\d+", kernel_release)[:2]]
    return len(numbers) == 2 and (numbers[0], numbers[1]) >= (5, 14)


def _check_user_namespaces(bwrap: str) -> None:
    """Workers run bubblewrap without privileges (as their own uid, or as a non-root evaluator's), which
    needs unprivileged user namespaces: refuse at start-up, in one line, when the host forbids them."""
    # As root, probe as an unprivileged user, as the workers will run (root could create namespaces anyway).
    nobody = {"user": _NOBODY, "group": _NOBODY, "extra_groups": []} if os.geteuid() == 0 else {}
    try:
        probe = subprocess.run([bwrap, "--unshare-user", "--disable-userns", "--unshare-pid", "--unshare-net",
                                "--ro-bind", "/", "/", "--", "/bin/true"], capture_output=True, text=True,
                               timeout=30, **nobody)  # type: ignore[call-overload]
    except (OSError, subprocess.SubprocessError) as exc:
        raise SandboxUnavailable(f"cannot run bubblewrap ({bwrap}) as an unprivileged user: {exc}") from None
    if probe.returncode != 0:
        reason = (probe.stderr.strip().splitlines() or [f"exit status {probe.returncode}"])[-1]
        raise SandboxUnavailable(
            f"uploaded scorers need unprivileged user namespaces for bubblewrap, which this host refuses "
            f"({reason}): check /proc/sys/user/max_user_namespaces (and, on Ubuntu, "
            f"kernel.apparmor_restrict_unprivileged_userns), or choose the weaker sandbox.isolation: none")


_NOBODY = 65534


def _compile_seccomp() -> bytes:
    try:
        from evaluator_service.sandbox.seccomp_profile import compile_filter

        return compile_filter()
    except Exception as exc:  # however the binding fails without the library: one line, no traceback
        raise SandboxUnavailable(f"uploaded scorers need libseccomp (Debian 'libseccomp2', PyPI "
                                 f"'pyseccomp'): {exc}") from None


def default_work_root() -> Path:
    """``$TMPDIR/judgeval-sandbox`` for root, ``$TMPDIR/judgeval-sandbox-<uid>`` for any other user: a
    directory of its own per user, so evaluators of different users on one host never find it taken."""
    uid = os.geteuid()
    return Path(tempfile.gettempdir()) / ("judgeval-sandbox" if uid == 0 else f"judgeval-sandbox-{uid}")


def _run_dir(config: SandboxConfig, instance: str, owner_locks: list[OwnerLock]) -> Path:
    """``<work root>/run-<instance>``: egress sockets (and, without bubblewrap, work dirs) of this
    evaluator, owned through the lock ``<work root>/run-<instance>.lock`` (taken first, added to
    ``owner_locks``). Directories of evaluators that are gone (e.g. SIGKILLed: their lock is free) are
    removed here, sources and all, with their short socket directories."""
    root = config.work_root or default_work_root()
    root.mkdir(parents=True, exist_ok=True)
    owner = os.lstat(root)
    if owner.st_uid != os.geteuid() or os.path.islink(root) or not os.path.isdir(root):
        raise SandboxUnavailable(f"sandbox work root {root} is not a directory owned by the evaluator's user")
    os.chmod(root, 0o711)
    _remove_stale_run_dirs(root)
    try:
        owner_locks.append(OwnerLock.hold(root, f"run-{instance}"))
    except OSError as exc:
        raise SandboxUnavailable(f"cannot hold the owner lock of the sandbox run directory: {exc}") from None
    run_dir = root / f"run-{instance}"
    run_dir.mkdir(exist_ok=True)
    os.chmod(run_dir, 0o711)
    return run_dir


_UNIX_PATH_MAX = 108
"""``sizeof(sockaddr_un.sun_path)`` on Linux, the terminating NUL included."""
_SHORT_SOCKET_ROOT = Path("/tmp")


def _remove_stale_run_dirs(root: Path) -> None:
    """Remove the run directories (and short socket directories) of the evaluators that used ``root`` and
    are gone: those whose owner lock we can take. Older evaluators' ``run-<pid>`` are left alone."""
    for lock_file in root.glob("run-*.lock"):
        instance = lock_file.stem.removeprefix("run-")
        if not is_instance_id(instance) or (lock := OwnerLock.claim_if_gone(root, lock_file.stem)) is None:
            continue
        stale = [root / lock_file.stem, _SHORT_SOCKET_ROOT / f"judgeval-egress-{instance}"]
        for path in stale:
            if path.is_dir() and not path.is_symlink() and os.lstat(path).st_uid == os.geteuid():
                shutil.rmtree(path, ignore_errors=True)
        lock.release(forget=not stale[0].exists())


def _short_socket_dir(instance: str) -> Path:
    """``/tmp/judgeval-egress-<instance>`` (mode 0711); removed with a gone owner's run directory."""
    path = _SHORT_SOCKET_ROOT / f"judgeval-egress-{instance}"
    path.mkdir(mode=0o711, exist_ok=True)
    if os.lstat(path).st_uid != os.geteuid() or path.is_symlink():
        raise SandboxUnavailable(f"{path} is not a directory owned by the evaluator's user")
    return path

