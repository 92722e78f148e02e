"""Trajectory scoring assembled: buffer, feed intake, scorer runner, completion sweep, result logs.

The evaluator app builds one :class:`TrajectoryScoring` after its span queue and pauses exist::

    scoring = await TrajectoryScoring.open(config, queue, pauses, metrics, sources, scoring_config,
                                           export_endpoint, export_config, on_results=forwarder.wake)
    intake.feed = scoring.intake          # feed exports (the feed header) go to the buffer
    scoring.sweeper.score_observers = dispatcher.score_observers   # alerts and score metrics see results
    scoring.start(); ...; await scoring.stop()

``shared_state`` (the state database) lets the replicas sharing it score each session once
(:mod:`evaluator_service.trajectories.sessions`). ``sources`` resolve
:class:`~judgeval.protocol.trajectory_request.TrajectoryRequest` scorer names (the trajectory scorer
catalog: built-ins and uploaded ``TraceScorer`` classes). ``clock`` (wall-clock seconds)
is injectable for tests of the timers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from evaluator_service.config_sections import ExportConfig, RuleConfig
from evaluator_service.metrics import EvaluatorMetrics
from evaluator_service.queue import SpanQueue
from evaluator_service.scoring.contract import TrajectoryScorerSource
from evaluator_service.scoring.pause import PauseRegistry
from evaluator_service.scoring.rate_budget import TokenBucket
from evaluator_service.scoring.settings import ScorerLimits, ScoringConfig
from evaluator_service.state.session_rows import SessionState
from evaluator_service.trajectories.buffer import TrajectoryBuffer
from evaluator_service.trajectories.completion import CompletionPolicy
from evaluator_service.trajectories.counters import TrajectoryCounters
from evaluator_service.trajectories.intake import TrajectoryFeedIntake
from evaluator_service.trajectories.result_logs import ResultLogForwarder, ResultLogQueue
from evaluator_service.trajectories.rules import TrajectoryRules
from evaluator_service.trajectories.scoring import TrajectoryScorerRunner
from evaluator_service.trajectories.sessions import SessionCoordinator
from evaluator_service.trajectories.settings import TrajectoryConfig
from evaluator_service.trajectories.sweeper import TrajectorySweeper


@dataclass
class TrajectoryScoring:
    """The running trajectory side of one evaluator replica."""

    buffer: TrajectoryBuffer
    intake: TrajectoryFeedIntake
    sweeper: TrajectorySweeper
    counters: TrajectoryCounters
    result_logs: ResultLogQueue
    log_forwarder: ResultLogForwarder

    @classmethod
    async def open(
        cls,
        config: TrajectoryConfig,
        queue: SpanQueue,
        pauses: PauseRegistry | None,
        metrics: EvaluatorMetrics,
        sources: Sequence[TrajectoryScorerSource],
        scoring: ScoringConfig,
        export_endpoint: str,
        export: ExportConfig,
        *,
        on_results: Callable[[], None],
        shared_state: SessionState | None = None,
        rules: Sequence[RuleConfig] = (),
        limits: Mapping[str, ScorerLimits] | None = None,
        judge_bucket: TokenBucket | None = None,
        clock: Callable[[], float] = time.time,
    ) -> TrajectoryScoring:
        """Open the buffer and the result-log queue in the span queue's data directory."""
        policy = CompletionPolicy(config)
        data_dir = queue.path.parent
        buffer = await TrajectoryBuffer.open(
            data_dir,
            policy,
            max_bytes=config.max_bytes,
            max_trajectories=config.max_trajectories,
            max_spans_per_trajectory=config.max_spans_per_trajectory,
            min_free_bytes=queue.min_free_bytes,
        )
        result_logs = await ResultLogQueue.open(data_dir)
        log_forwarder = ResultLogForwarder(result_logs, export_endpoint, export)
        counters = TrajectoryCounters(metrics)
        runner = TrajectoryScorerRunner(sources, pauses, scoring, metrics, limits, judge_bucket)
        sweeper = TrajectorySweeper(
            buffer,
            policy,
            runner,
            queue,
            counters,
            on_results=on_results,
            result_logs=result_logs,
            on_logs=log_forwarder.wake,
            clock=clock,
        )
        if shared_state is not None:
            # long enough for one session's scoring with every retry; an expired lease is taken over
            lease_s = scoring.timeout_s * (scoring.max_retries + 1) + 30.0
            sweeper.sessions = SessionCoordinator(shared_state, buffer, policy, lease_s, clock)
        intake = TrajectoryFeedIntake(buffer, counters, sweeper.wake, clock)
        intake.sessions = sweeper.sessions
        intake.rules = TrajectoryRules(rules)
        intake.direct = config.direct
        return cls(buffer, intake, sweeper, counters, result_logs, log_forwarder)

    def start(self) -> None:
        self.sweeper.start()
        self.log_forwarder.start()

    async def stop(self) -> None:
        await self.sweeper.stop()
        await self.log_forwarder.stop()
        await self.buffer.close()
        await self.result_logs.close()
