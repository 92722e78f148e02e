"""Assembly of the evaluator: one grpc.aio server, the durable queue, the scoring dispatcher, the forwarder.

Plug-ins (the admin API, uploaded-scorer sources) are added without touching this module::

    app = EvaluatorApp(config, scorer_sources=[uploaded], service_installers=[install_admin])
    await app.start()          # prints nothing; the CLI prints the listening line
    app.port                   # the real port (``--listen host:0`` works)
    app.pauses.pause(...)      # PauseRegistry: pause / resume / list_paused
    await app.stop(grace=10)

Scorer names resolve through YAML-configured scorers, then built-ins, then ``scorer_sources`` in order.
Trajectory scorers resolve the same way through :attr:`EvaluatorApp.trajectory_scorers` (YAML entries of a
trajectory type, the built-in trajectory types, then ``trajectory_sources``, e.g. uploaded trace scorers).
A service installer is called with the ``grpc.aio.Server`` before it starts, to register more services.

Pauses live in the shared state database (``config.state_db_url``; pass ``shared_state`` to reuse one
already created, e.g. the one the hosted-scorer registry uses). Replicas pointing at the same PostgreSQL
database see each other's pauses within a second; the span queue stays local to each replica.

This module only assembles components and orders their start and stop; opening sockets (the gRPC server,
the OTLP/HTTP intake, the console) is :mod:`evaluator_service.listeners`.
"""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import grpc
from grpc_health.v1 import health, health_pb2
from opentelemetry.sdk.metrics.export import MetricReader

from evaluator_service.alerts.manager import AlertManager
from evaluator_service.behaviors.grouper import BehaviorGrouper
from evaluator_service.calibration.monitor import CalibrationMonitor
from evaluator_service.config import EvaluatorConfig
from evaluator_service.console.queries import ConsoleQueries
from evaluator_service.console.recorder import ConsoleRecorder
from evaluator_service.datasets.collector import DatasetCollector
from evaluator_service.dispatcher import ScoringDispatcher
from evaluator_service.errors import StartupError
from evaluator_service.forwarder import SpanForwarder
from evaluator_service.http_intake import OtlpHttpIntake
from evaluator_service.intake import TraceIntakeServicer
from evaluator_service.interactions import InteractionFanout
from evaluator_service.listeners import (
    TRACE_SERVICE_NAME,
    ServiceInstaller,
    bind_grpc_port,
    build_grpc_server,
    check_listen_addresses,
    start_console,
    start_http_intake,
)
from evaluator_service.metrics import EvaluatorMetrics
from evaluator_service.queue import SpanQueue, data_dir_problem
from evaluator_service.score_metrics import ScoreMetricsObserver
from evaluator_service.scoring.builtin.sources import BuiltinScorerSource, ConfiguredScorerSource
from evaluator_service.scoring.contract import ScorerSource, TrajectoryScorerSource
from evaluator_service.scoring.pause import PauseRegistry
from evaluator_service.scoring.resolution import ScorerChain
from evaluator_service.scoring.runner import ScorerRunner
from evaluator_service.scoring.trajectory.catalog import TrajectoryScorers
from evaluator_service.span_rules import RuleMatcher
from evaluator_service.state import SharedState, open_shared_state
from evaluator_service.trajectories.service import TrajectoryScoring

if TYPE_CHECKING:
    from evaluator_service.console.server import ConsoleServer

__all__ = ["TRACE_SERVICE_NAME", "EvaluatorApp", "ServiceInstaller"]



class EvaluatorApp:
    """The running evaluator. Not reusable: one :meth:`start`, one :meth:`stop`."""

    def __init__(
        self,
        config: EvaluatorConfig,
        *,
        scorer_sources: Sequence[ScorerSource] = (),
        service_installers: Sequence[ServiceInstaller] = (),
        metric_readers: Sequence[MetricReader] = (),
        shared_state: SharedState | None = None,
        alerts: AlertManager | None = None,
        calibration: CalibrationMonitor | None = None,
        trajectory_sources: Sequence[TrajectoryScorerSource] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.metrics = EvaluatorMetrics.create(config.metrics_endpoint, metric_readers)
        self._extra_sources = list(scorer_sources)
        self._clock = clock
        self.trajectories: TrajectoryScoring | None = None
        """Trajectory and session scoring (buffer, feed intake, sweep); set by :meth:`start`."""
        self._installers = list(service_installers)
        self._owns_state = shared_state is None
        self._state = shared_state
        self.port = 0
        self._stopped = False
        self._server: grpc.aio.Server | None = None
        self._health = health.aio.HealthServicer()
        self._store: SpanQueue | None = None
        self._pauses: PauseRegistry | None = None
        self._dispatcher: ScoringDispatcher | None = None
        self._forwarder: SpanForwarder | None = None
        self._intake: TraceIntakeServicer | None = None
        self._http: OtlpHttpIntake | None = None
        self.http_port = 0
        """The OTLP/HTTP listener's real port (``ingress.http_listen``); 0 when it is off."""
        self.console: ConsoleServer | None = None
        """The web console (``console.listen``), set by :meth:`start` when enabled; ``console.port``."""
        self.behaviors: BehaviorGrouper | None = None
        """Groups failing spans into behaviors (``config.behaviors``); set by :meth:`start` when enabled."""
        self.alerts = alerts or AlertManager(config.alerts, settings=config.alerting,
                                             channel_configs=config.channels, calibration=config.calibration)
        """Judges scores against ``config.alerts``; pass ``alerts=`` to share it with an admin installer."""
        self.calibration = calibration or CalibrationMonitor(config.calibration, clock=clock)
        """Counts each scorer's passes and failures and reports judge calibration (``config.calibration``);
        pass ``calibration=`` to share it with the admin installer."""
        self.interactions = InteractionFanout(clock)
        """Hands every scored span's :class:`~judgeval.protocol.interaction_record.InteractionRecord` s to
        its sinks (datasets, the console, shadow comparisons); add sinks before :meth:`start`."""
        self.datasets: DatasetCollector | None = None
        """Fills datasets by ``config.datasets`` rules from :attr:`interactions`; set by :meth:`start`."""
        self.chain = ScorerChain([
            ConfiguredScorerSource(config.scorers), BuiltinScorerSource(config.judge), *self._extra_sources,
        ])
        self.trajectory_scorers = TrajectoryScorers(config.scorers, config.judge, trajectory_sources)
        self.runner: ScorerRunner | None = None
        """Runs span scorers with the evaluator's limits (backfills use it too); set by :meth:`start`."""
        """Resolves trajectory requests' scorer names (what the trajectory scoring consumes)."""
        self.console_recorder: ConsoleRecorder | None = None
        """Records the console's rollups, failing interactions and not-evaluated spans
        (``config.console_data``); set by :meth:`start` when enabled."""
        self.console_queries: ConsoleQueries | None = None
        """The console's read API over this evaluator's shared state; set by :meth:`start`."""

    @property
    def store(self) -> SpanQueue:
        """The durable queue (``<data_dir>/queue.sqlite3``); available after :meth:`start`."""
        if self._store is None:
            raise RuntimeError("EvaluatorApp is not started")
        return self._store

    @property
    def forwarder(self) -> SpanForwarder:
        """The re-export to the downstream (its request limit in force); available after :meth:`start`."""
        if self._forwarder is None:
            raise RuntimeError("EvaluatorApp is not started")
        return self._forwarder

    @property
    def shared_state(self) -> SharedState:
        """The shared state database (replay runs are recorded there); available after :meth:`start`."""
        if self._state is None:
            raise RuntimeError("EvaluatorApp is not started")
        return self._state

    @property
    def pauses(self) -> PauseRegistry:
        """Pause / resume / list paused scorers (what the admin API calls); available after :meth:`start`."""
        if self._pauses is None:
            raise RuntimeError("EvaluatorApp is not started")
        return self._pauses

    async def start(self) -> None:
        """Open the queue, resume pending work, and start serving. Raises :class:`StartupError` (or
        ``StateUnavailable``) when a resource it needs refuses."""
        cfg = self.config
        try:
            store = self._store = await SpanQueue.open(
                cfg.data_dir, cfg.queue.max_spans, cfg.queue.max_bytes, row_spans=cfg.export.batch_size,
                min_free_bytes=cfg.queue.min_free_bytes,
            )
        except (OSError, sqlite3.Error) as exc:  # an unwritable data dir, a queue file that is no database
            raise StartupError(data_dir_problem(cfg.data_dir, exc)) from exc
        check_listen_addresses(cfg)  # before anything is started: one clear line, no gRPC log
        if self._state is None:
            self._state = open_shared_state(cfg.state_db_url)
        await self._state.open()  # StateUnavailable names the (password-masked) URL
        pauses = self._pauses = PauseRegistry(self._state)
        await pauses.load()
        await self.chain.astart()
        self.metrics.queue_depth = lambda: store.span_count
        self.metrics.paused_count = lambda: len(pauses.list_paused())
        runner = self.runner = ScorerRunner(self.chain, pauses, cfg.scoring, cfg.scorer_limits(),
                                            self.metrics)
        forwarder = self._forwarder = SpanForwarder(store, cfg.export_endpoint, cfg.export, self.metrics)
        dispatcher = self._dispatcher = ScoringDispatcher(
            store, runner, self.metrics, cfg.scoring.concurrency, forwarder.wake
        )
        dispatcher.score_observers.append(ScoreMetricsObserver(self.metrics))
        dispatcher.score_observers.append(self.alerts.observe)
        dispatcher.score_observers.append(self.interactions)
        dispatcher.score_observers.append(self.calibration.counter)
        self.console_queries = ConsoleQueries(self._state, cfg.console_data, self._clock)
        if cfg.console_data.enabled:
            recorder = self.console_recorder = ConsoleRecorder(cfg.console_data, self._state, self._clock,
                                                               self.metrics)
            self.interactions.sinks.append(recorder.record_interactions)
            dispatcher.unscored_observers.append(recorder.record_unscored)
            await recorder.start()
        await self.alerts.start(self._state, self.metrics)
        await self.calibration.start(self._state, self.metrics)
        self.datasets = DatasetCollector(cfg.datasets, self._state, self.metrics, clock=self._clock)
        if cfg.datasets.rules:
            self.interactions.sinks.append(self.datasets.sink)
        await self.datasets.start()
        if cfg.behaviors.enabled:
            dispatcher.behaviors = self.behaviors = BehaviorGrouper(cfg.behaviors, self._state, self.metrics)
            dispatcher.score_observers.append(self.behaviors.observe_inputs)
            await self.behaviors.start()

        def enqueued() -> None:
            dispatcher.wake()
            forwarder.wake()

        span_rules = [r for r in cfg.rules if r.scope == "span"]
        self._intake = TraceIntakeServicer(store, RuleMatcher(span_rules), self.metrics, enqueued)
        trajectories = self.trajectories = await TrajectoryScoring.open(
            cfg.trajectories, store, pauses, self.metrics, [self.trajectory_scorers], cfg.scoring,
            cfg.export_endpoint, cfg.export, on_results=forwarder.wake, shared_state=self._state,
            rules=[r for r in cfg.rules if r.scope != "span"], limits=cfg.scorer_limits(),
            judge_bucket=runner.judge_bucket,
            clock=self._clock,
        )
        # alerts and score metrics see trajectory results as they see scored spans
        trajectories.sweeper.score_observers = dispatcher.score_observers
        trajectories.sweeper.unscored_observers = dispatcher.unscored_observers
        self._intake.feed = trajectories.intake
        trajectories.sweeper.behaviors = self.behaviors
        server = self._server = build_grpc_server(self._intake, self._health, self._installers,
                                                  cfg.ingress.bearer_token)
        self.port = bind_grpc_port(server, cfg.listen, cfg.ingress)
        dispatcher.evaluator_id = f"{socket.gethostname()}:{self.port}"
        trajectories.sweeper.evaluator_id = dispatcher.evaluator_id
        if trajectories.sweeper.sessions is not None:
            trajectories.sweeper.sessions.replica = dispatcher.evaluator_id
        await server.start()
        if cfg.ingress.http_listen:
            self._http = await start_http_intake(self._intake, cfg.ingress.http_listen, cfg.ingress)
            self.http_port = self._http.port
        if cfg.console.listen:
            self.console = await start_console(cfg, self._state, cfg.console.listen, clock=self._clock,
                                               queries=self.console_queries)
        forwarder.start()
        dispatcher.start()
        trajectories.start()
        for service in ("", TRACE_SERVICE_NAME):
            await self._health.set(service, health_pb2.HealthCheckResponse.SERVING)

    async def stop(self, grace: float = 10.0) -> None:
        """NOT_SERVING, refuse new exports, finish scoring within ``grace`` seconds, flush exports, close.

        Work that does not finish stays in the durable queue for the next start.
        """
        if self._stopped:
            return
        self._stopped = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        await self._health.enter_graceful_shutdown()
        if self._intake is not None:
            self._intake.accepting = False
        if self._http is not None:
            await self._http.stop()
        if self.console is not None:
            await self.console.stop()
        if self._server is not None:
            await self._server.stop(min(1.0, grace))
        if self._dispatcher is not None:
            await self._dispatcher.stop(max(0.0, deadline - loop.time()))
        if self.trajectories is not None:
            await self.trajectories.stop()
        if self._forwarder is not None:
            await self._forwarder.stop(max(0.1, deadline - loop.time()))
        await self.alerts.stop(max(0.5, deadline - loop.time()))
        await self.calibration.stop()
        if self.datasets is not None:
            await self.datasets.stop(max(0.5, deadline - loop.time()))
        if self.behaviors is not None:
            await self.behaviors.stop()
        if self.console_recorder is not None:
            await self.console_recorder.stop()
        await self.chain.aclose()
        await self.trajectory_scorers.aclose()
        if self._pauses is not None:
            await self._pauses.close()
        if self._state is not None and self._owns_state:
            await self._state.close()
        if self._store is not None:
            await self._store.close()
        await asyncio.to_thread(self.metrics.shutdown)  # a final OTLP push may block on the network
