"""Scorers that try to break out of the sandbox; each reports what it managed in its reason (JSON)."""

import contextlib
import ctypes
import glob
import json
import os

from judgeval.scorers.example_scorer import ExampleScorer


def _try(action):
    try:
        return f"ok: {action()!r}"[:200]
    except BaseException as exc:
        return f"denied: {type(exc).__name__}"


class SnoopScorer(ExampleScorer):
    """Looks for the evaluator's secrets: its environment, its data directory, other processes."""

    data_dir: str = ""

    async def a_score_example(self, example):
        def other_environs():
            found = []
            for path in glob.glob("/proc/[0-9]*/environ"):
                with contextlib.suppress(OSError), open(path, "rb") as handle:
                    if b"JUDGMENT_API_KEY" in handle.read():
                        found.append(path)
            return found

        report = {
            "env": sorted(os.environ),
            "uid": os.getuid(),
            "data_dir_list": _try(lambda: os.listdir(self.data_dir)),
            "data_dir_walk": _try(lambda: [f for _, _, fs in os.walk(self.data_dir) for f in fs]),
            "environ_with_key": other_environs(),
            "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
        }
        self.reason = json.dumps(report)
        return 1.0


class EscapeScorer(ExampleScorer):
    """Writes files everywhere it should not."""

    targets: list = []

    async def a_score_example(self, example):
        results = {}
        for target in self.targets:
            def write(path=target):
                with open(path, "w") as handle:
                    handle.write("pwned")
                return path
            results[target] = _try(write)
        self.reason = json.dumps(results)
        return 1.0


class ForkBombScorer(ExampleScorer):
    async def a_score_example(self, example):
        while True:
            with contextlib.suppress(OSError):
                os.fork()


class MemoryHogScorer(ExampleScorer):
    async def a_score_example(self, example):
        hoard = []
        while True:
            hoard.append(bytearray(16 * 1024 * 1024))


class InfiniteLoopScorer(ExampleScorer):
    async def a_score_example(self, example):
        while True:
            pass


class LoudScorer(ExampleScorer):
    """Prints about a gigabyte through print(), then floods the raw stdout file descriptor."""

    async def a_score_example(self, example):
        line = "x" * 100_000
        for _ in range(10_000):
            print(line)
        chunk = b"y" * (1024 * 1024)
        for _ in range(4096):
            os.write(1, chunk)
        return 1.0


class AbortScorer(ExampleScorer):
    async def a_score_example(self, example):
        os.abort()


class SegfaultScorer(ExampleScorer):
    async def a_score_example(self, example):
        ctypes.string_at(0)


class GoodScorer(ExampleScorer):
    async def a_score_example(self, example):
        self.reason = f"saw {example.response!r}"
        return 0.75


class NetworkScorer(ExampleScorer):
    """Tries to open a TCP connection to ``address`` (host:port)."""

    address: str = ""

    async def a_score_example(self, example):
        import socket

        host, port = self.address.rsplit(":", 1)

        def connect():
            with socket.create_connection((host, int(port)), timeout=1):
                return "connected"

        self.reason = _try(connect)
        return 1.0

