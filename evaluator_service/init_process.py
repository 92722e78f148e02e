"""When the evaluator is PID 1 (``docker run IMAGE judgeval-evaluator`` without ``--init``): split into a
minimal init that reaps every orphan and the evaluator proper, as ``tini`` would.

Orphans are re-parented to PID 1: above all the processes of a sandbox whose worker was killed (its
bubblewrap dies first, so the sandbox's own init is orphaned and killed by ``--die-with-parent``). Nothing
in the evaluator waits for processes it did not start, so as PID 1 each killed worker used to leave
zombies that lingered until the container stopped. Reaping them in the evaluator itself could steal the
exit status of a child asyncio or ``subprocess`` is waiting for, so PID 1 forks instead: the child runs
the evaluator; PID 1 only waits for any child (reaping orphans as they come), forwards SIGTERM, SIGINT,
SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 to the evaluator (PID 1 gets no default signal actions, so an
unforwarded SIGTERM would be ignored), and exits with the evaluator's status (128 + N if a signal N
ended it). Not PID 1 (``--init``, tini, systemd, a shell): nothing changes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from types import FrameType

FORWARDED_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
                     signal.SIGUSR2)


def reap_orphans_when_pid1() -> None:
    """As PID 1, fork: return in the child (the evaluator runs on), never return in PID 1, which reaps
    until the evaluator exits and then exits with its status. Not PID 1: return at once."""
    if os.getpid() != 1:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    evaluator = os.fork()
    if evaluator == 0:
        return
    os._exit(_reap_until_exit(evaluator))


def _reap_until_exit(evaluator: int) -> int:
    def forward(signum: int, _frame: FrameType | None) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(evaluator, signum)

    for signum in FORWARDED_SIGNALS:
        signal.signal(signum, forward)
    while True:
        try:
            pid, status = os.wait()  # any child: the evaluator or an orphan
        except ChildProcessError:
            return 1  # cannot happen while the evaluator lives; be safe
        if pid == evaluator:
            code = os.waitstatus_to_exitcode(status)
            return 128 - code if code < 0 else code
