"""The seccomp filter every sandbox worker runs under, compiled with libseccomp (PyPI ``pyseccomp``).

A denylist modeled on Docker's default profile: everything is allowed except system calls that reach
kernel surfaces a scorer never needs and that container escapes go through. Denied calls fail with
``EPERM`` (the process keeps running and sees an ordinary error). bubblewrap loads the compiled BPF
program (``--seccomp FD``) after building the sandbox, so its own setup is unaffected.
"""

from __future__ import annotations

import errno
import os

CLONE_NEW_FLAGS = (0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000
                   | 0x40000000 | 0x00000080)
"""CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET | NEWTIME: namespace creation."""

DENIED_SYSCALLS = (
    # namespaces and mounts: no new view of the system from inside
    "unshare", "setns", "mount", "umount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree",
    "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
    # debugging other processes, kernel memory and introspection
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "perf_event_open", "bpf", "userfaultfd",
    "lookup_dcookie", "quotactl", "quotactl_fd", "nfsservctl",
    # keys, modules, kexec, reboot, clocks, swap, accounting
    "add_key", "request_key", "keyctl", "init_module", "finit_module", "delete_module", "kexec_load",
    "kexec_file_load", "reboot", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "stime",
    "swapon", "swapoff", "acct", "sethostname", "setdomainname", "syslog", "uselib", "ustat", "sysfs",
    "_sysctl", "vhangup", "iopl", "ioperm", "open_by_handle_at", "name_to_handle_at",
    "personality",
    # io_uring bypasses this filter for the operations it performs
    "io_uring_setup", "io_uring_enter", "io_uring_register",
)
"""System calls that fail with ``EPERM`` inside the sandbox (``clone``/``clone3`` are restricted
separately: threads and plain forks stay allowed, namespace flags do not)."""


def compile_filter() -> bytes:
    """The BPF program for this machine's architecture, as bubblewrap's ``--seccomp`` reads it."""
    import pyseccomp as seccomp

    deny = seccomp.ERRNO(errno.EPERM)
    profile = seccomp.SyscallFilter(seccomp.ALLOW)
    for name in DENIED_SYSCALLS:
        try:
            profile.add_rule(deny, name)
        except (ValueError, RuntimeError, OSError):  # not a system call on this architecture
            continue
    # clone(flags, ...): refuse every namespace flag (one rule per bit; rules combine with "or"). clone3
    # passes its flags in memory a filter cannot read, so it fails with ENOSYS and libc falls back to
    # clone (what Docker's profile does).
    for bit in range(32):
        flag = 1 << bit
        if CLONE_NEW_FLAGS & flag:
            profile.add_rule(deny, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
    profile.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    sink = os.memfd_create("judgeval-seccomp")
    try:
        with os.fdopen(os.dup(sink), "wb") as handle:
            profile.export_bpf(handle)
        size = os.fstat(sink).st_size
        return os.pread(sink, size, 0)
    finally:
        os.close(sink)
