"""Trajectory scoring assembled: buffer, feed intake, scorer runner and completion sweep.

The evaluator app builds one :class:`TrajectoryScoring` after its span queue and pauses exist::

    scoring = await TrajectoryScoring.open(config, queue, pauses, metrics, sources, on_results=forwarder.wake)
    intake.feed = scoring.intake          # feed exports (the feed header) go to the buffer
    scoring.sweeper.score_observers = dispatcher.score_observers   # alerts and score metrics see results
    scoring.start(); ...; await scoring.stop()

``sources`` resolve :class:`~judgeval.protocol.trajectory_request.TrajectoryRequest` scorer names (the
trajectory scorer catalog: built-ins and uploaded ``TraceScorer`` classes). ``clock`` (wall-clock seconds)
is injectable for tests of the timers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from evaluator_service.metrics import EvaluatorMetrics
from evaluator_service.queue import SpanQueue
from evaluator_service.scoring.contract import TrajectoryScorerSource
from evaluator_service.scoring.pause import PauseRegistry
from evaluator_service.scoring.settings import ScoringConfig
from evaluator_service.trajectories.buffer import TrajectoryBuffer
from evaluator_service.trajectories.completion import CompletionPolicy
from evaluator_service.trajectories.counters import TrajectoryCounters
from evaluator_service.trajectories.intake import TrajectoryFeedIntake
from evaluator_service.trajectories.scoring import TrajectoryScorerRunner
from evaluator_service.trajectories.settings import TrajectoryConfig
from evaluator_service.trajectories.sweeper import TrajectorySweeper


class TrajectoryScoring:
    """The running trajectory side of one evaluator replica."""

    def __init__(
        self,
        buffer: TrajectoryBuffer,
        intake: TrajectoryFeedIntake,
        sweeper: TrajectorySweeper,
        counters: TrajectoryCounters,
    ) -> None:
        self.buffer = buffer
        self.intake = intake
        self.sweeper = sweeper
        self.counters = counters

    @classmethod
    async def open(
        cls,
        config: TrajectoryConfig,
        data_dir_queue: SpanQueue,
        pauses: PauseRegistry | None,
        metrics: EvaluatorMetrics,
        sources: Sequence[TrajectoryScorerSource],
        scoring: ScoringConfig,
        *,
        on_results: Callable[[], None],
        clock: Callable[[], float] = time.time,
    ) -> TrajectoryScoring:
        policy = CompletionPolicy(config)
        buffer = await TrajectoryBuffer.open(
            data_dir_queue.path.parent,
            policy,
            max_bytes=config.max_bytes,
            max_trajectories=config.max_trajectories,
            max_spans_per_trajectory=config.max_spans_per_trajectory,
            min_free_bytes=data_dir_queue.min_free_bytes,
        )
        counters = TrajectoryCounters(metrics)
        runner = TrajectoryScorerRunner(sources, pauses, scoring, metrics)
        sweeper = TrajectorySweeper(
            buffer, policy, runner, data_dir_queue, counters, on_results=on_results, clock=clock
        )
        intake = TrajectoryFeedIntake(buffer, counters, sweeper.wake, clock)
        return cls(buffer, intake, sweeper, counters)

    def start(self) -> None:
        self.sweeper.start()

    async def stop(self) -> None:
        await self.sweeper.stop()
        await self.buffer.close()
