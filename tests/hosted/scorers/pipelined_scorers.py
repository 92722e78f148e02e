"""Scorers showing how one sandbox worker handles several requests at once (see test_sandbox_pipeline)."""

import asyncio
import os
import uuid

from judgeval.scorers.example_scorer import ExampleScorer

WORKER_TOKEN = uuid.uuid4().hex[:12]
"""Differs between worker processes (PIDs do not: each worker is PID 2 of its own namespace)."""
_arrived = []


class RendezvousScorer(ExampleScorer):
    """Answers only once ``expected`` requests are inside this worker at the same time."""

    expected: int = 2

    async def a_score_example(self, example):
        _arrived.append(example.response)
        while len(_arrived) < self.expected:
            await asyncio.sleep(0.01)
        self.reason = f"{len(_arrived)} together in {WORKER_TOKEN}"
        return 1.0


class ChattyScorer(ExampleScorer):
    """Prints around an await, so concurrent requests' prints interleave in time."""

    async def a_score_example(self, example):
        print(f"start {example.response}")
        await asyncio.sleep(0.05)
        print(f"end {example.response}")
        return 1.0


class ModalScorer(ExampleScorer):
    """Does what the response says: quick, bad (raises), sleep (awaits forever), block (spins forever
    without awaiting), abort (kills its process), hog (MemoryError)."""

    async def a_score_example(self, example):
        mode = example.response
        if mode == "bad":
            raise ValueError("this example is bad")
        if mode == "sleep":
            await asyncio.sleep(3600)
        if mode == "block":
            while True:
                pass
        if mode == "abort":
            await asyncio.sleep(0.2)  # let a sibling request arrive first
            os.abort()
        if mode == "hog":
            hoard = []
            while True:
                hoard.append(bytearray(16 * 1024 * 1024))
        self.reason = WORKER_TOKEN
        return 1.0
