"""Scorers that attack the host from inside the sandbox; each reports what it managed in its reason (JSON)."""

import ctypes
import errno
import json
import os
import socket
import threading
import time
import urllib.request

from judgeval.scorers.example_scorer import ExampleScorer

_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWNET = 0x10000000, 0x00020000, 0x40000000


def _errno_of(result):
    return "ok" if result == 0 else errno.errorcode.get(ctypes.get_errno(), str(ctypes.get_errno()))


class NamespaceScorer(ExampleScorer):
    """Tries to create namespaces, mount, ptrace and load BPF: the steps of a container escape."""

    async def a_score_example(self, example):
        report = {
            "unshare_user": _errno_of(_libc.unshare(CLONE_NEWUSER)),
            "unshare_mount": _errno_of(_libc.unshare(CLONE_NEWNS)),
            "unshare_net": _errno_of(_libc.unshare(CLONE_NEWNET)),
            "mount_tmpfs": _errno_of(_libc.mount(b"tmpfs", b"/tmp", b"tmpfs", 0, None)),
            "ptrace_traceme": _errno_of(_libc.ptrace(0, 0, None, None)),
            "uid": os.getuid(),
        }
        with open("/proc/self/status") as status:
            report["capabilities"] = next(line for line in status if line.startswith("CapEff")).split()[1]
        pid = os.fork()  # an ordinary fork still works
        if pid == 0:
            os._exit(7)
        report["fork_status"] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        self.reason = json.dumps(report)
        return 1.0


class ForkingMemoryScorer(ExampleScorer):
    """Forks ``children`` processes that each fill ``mb`` MiB (under the per-process limit) and reports
    how each ended: together they exceed the worker's memory limit."""

    children: int = 8
    mb: int = 120

    async def a_score_example(self, example):
        pids = []
        for _ in range(self.children):
            pid = os.fork()
            if pid == 0:
                block = bytearray(self.mb * 1024 * 1024)
                for offset in range(0, len(block), 4096):
                    block[offset] = 1
                time.sleep(3)
                os._exit(0)
            pids.append(pid)
        statuses = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in pids]
        self.reason = json.dumps({"statuses": statuses})
        return 1.0


class ZombieScorer(ExampleScorer):
    """Forks children that exit at once and are never reaped, until fork fails, then holds them."""

    async def a_score_example(self, example):
        made, failure = 0, ""
        while made < 400:
            try:
                pid = os.fork()
            except OSError as exc:
                failure = errno.errorcode.get(exc.errno, str(exc.errno))
                break
            if pid == 0:
                os._exit(0)
            made += 1
        self.reason = json.dumps({"zombies": made, "fork_failure": failure})
        return 1.0


class ThreadedScorer(ExampleScorer):
    """Needs 16 threads to score."""

    async def a_score_example(self, example):
        results = []
        threads = [threading.Thread(target=results.append, args=(n,)) for n in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.reason = f"{len(results)} threads ran"
        return 1.0


class CmdlineScorer(ExampleScorer):
    """Reports every process's command line and environment it can see."""

    async def a_score_example(self, example):
        seen = {}
        for pid in (p for p in os.listdir("/proc") if p.isdigit()):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as handle:
                    seen[pid] = handle.read().decode(errors="replace").split("\0")
            except OSError as exc:
                seen[pid] = f"denied: {exc}"
        self.reason = json.dumps({"cmdlines": seen, "cwd": os.getcwd(), "files": os.listdir(".")})
        return 1.0


class EgressScorer(ExampleScorer):
    """Connects straight to ``targets`` (host:port) and asks the proxy for each; reports both."""

    targets: list = []

    async def a_score_example(self, example):
        report = {}
        for target in self.targets:
            host, port = target.rsplit(":", 1)
            try:
                with socket.create_connection((host, int(port)), timeout=2):
                    direct = "connected"
            except OSError as exc:
                direct = f"failed: {errno.errorcode.get(exc.errno or 0, exc)}"
            try:
                with urllib.request.urlopen(f"http://{target}/v1/traces", timeout=5) as answer:
                    proxied = f"status {answer.status}"
            except urllib.error.HTTPError as exc:
                proxied = f"status {exc.code}: {exc.read().decode(errors='replace')[:300]}"
            except OSError as exc:
                proxied = f"failed: {exc}"
            report[target] = {"direct": direct, "proxied": proxied}
        self.reason = json.dumps(report)
        return 1.0


class SlowScorer(ExampleScorer):
    """Sleeps, so a test can kill the evaluator while the worker runs."""

    async def a_score_example(self, example):
        time.sleep(60)
        return 1.0


class ForkCountScorer(ExampleScorer):
    """Harmless: forks at most 50 children that sleep 2 s, reports how many forks succeeded, reaps them."""

    async def a_score_example(self, example):
        children, failure = [], ""
        for _ in range(50):
            try:
                pid = os.fork()
            except OSError as exc:
                failure = errno.errorcode.get(exc.errno, str(exc.errno))
                break
            if pid == 0:
                time.sleep(2)
                os._exit(0)
            children.append(pid)
        for pid in children:
            os.waitpid(pid, 0)
        self.reason = json.dumps({"forked": len(children), "fork_failure": failure})
        return 1.0


class BoundedForkBombScorer(ExampleScorer):
    """A bounded fork bomb: at most 500 fork attempts, each child holding its process slot for 60 s (children
    never fork again), then it holds on itself; killed by the evaluator's timeout or cancellation."""

    async def a_score_example(self, example):
        for _ in range(500):
            try:
                if os.fork() == 0:
                    time.sleep(60)
                    os._exit(0)
            except OSError:
                time.sleep(0.01)
        time.sleep(60)
        return 1.0


class UidScorer(ExampleScorer):
    """Reports the uid its worker runs as."""

    async def a_score_example(self, example):
        self.reason = json.dumps({"uid": os.getuid()})
        return 1.0
