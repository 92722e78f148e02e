"""The evaluator's command line: run the evaluator until SIGTERM or SIGINT.

Reached through :mod:`evaluator_service.entry_point` (``judgeval-evaluator`` and ``python -m
evaluator_service`` both), which first checks that the server extra is installed: this module imports the
server and so cannot say what is missing itself.

Settings resolve flag > environment variable > YAML (``--config``) > default. A bad configuration prints
one line naming the field (``config error: scorers[2].model: required for type faithfulness``) and exits
with status 2. Once serving, one line ``judgeval-evaluator listening on HOST:PORT`` goes to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from judgeval.environment_variables import JUDGMENT_API_KEY
from opentelemetry.sdk.environment_variables import OTEL_EXPORTER_OTLP_METRICS_ENDPOINT

from evaluator_service import config as cfg
from evaluator_service.admin import HostedScorers
from evaluator_service.admin.alerts_servicer import alerts_installer
from evaluator_service.admin.auth import AdminAuth
from evaluator_service.admin.backfill_servicer import backfill_installer
from evaluator_service.admin.behaviors_servicer import behaviors_installer
from evaluator_service.admin.calibration_servicer import calibration_installer
from evaluator_service.admin.datasets_servicer import datasets_installer
from evaluator_service.admin.evaluation_servicer import evaluation_installer
from evaluator_service.alerts.manager import AlertManager
from evaluator_service.app import EvaluatorApp
from evaluator_service.backfill.service import BackfillService
from evaluator_service.calibration.monitor import CalibrationMonitor
from evaluator_service.config import ConfigError, EvaluatorConfig, load_config
from evaluator_service.datasets.redaction import Redactor
from evaluator_service.datasets.trace_records import TraceRecords, jaeger_trace_records
from evaluator_service.environment_variables import (
    JUDGEVAL_CONSOLE_LISTEN,
    JUDGEVAL_EVALUATOR_CONFIG,
    JUDGEVAL_EVALUATOR_DATA_DIR,
    JUDGEVAL_EVALUATOR_EXPORT_ENDPOINT,
    JUDGEVAL_EVALUATOR_LISTEN,
    JUDGEVAL_EVALUATOR_STATE_DB,
)
from evaluator_service.errors import EvaluatorError
from evaluator_service.sandbox import SandboxConfig, add_sandbox_arguments, sandbox_config_from_args
from evaluator_service.state import open_shared_state

EXIT_CONFIG_ERROR = 2
EXIT_START_ERROR = 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="judgeval-evaluator",
        description="Receive OTLP spans, score the tagged ones, re-export everything enriched.",
    )
    parser.add_argument("--listen", help=f"HOST:PORT to serve OTLP/gRPC, health and admin on "
                        f"(env {JUDGEVAL_EVALUATOR_LISTEN}; default {cfg.DEFAULT_LISTEN})")
    parser.add_argument("--export-endpoint", help=f"HOST:PORT of the OTLP/gRPC receiver for "
                        f"enriched and forwarded spans (env {JUDGEVAL_EVALUATOR_EXPORT_ENDPOINT}; "
                        f"default {cfg.DEFAULT_EXPORT_ENDPOINT})")
    parser.add_argument("--data-dir", help=f"durable queue directory (env {JUDGEVAL_EVALUATOR_DATA_DIR}; "
                        f"default {cfg.DEFAULT_DATA_DIR})")
    parser.add_argument("--state-db", help=f"database replicas share (paused and uploaded scorers): "
                        f"sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/DB "
                        f"(env {JUDGEVAL_EVALUATOR_STATE_DB}; "
                        f"default sqlite:///<data-dir>/state.sqlite3)")
    parser.add_argument("--config", help=f"YAML configuration file (env {JUDGEVAL_EVALUATOR_CONFIG})")
    parser.add_argument("--console-listen", help=f"HOST:PORT to serve the web console on (env "
                        f"{JUDGEVAL_CONSOLE_LISTEN}; default: YAML console.listen, else off)")
    parser.add_argument("--api-key", help=f"token the admin API requires (env {JUDGMENT_API_KEY})")
    parser.add_argument("--metrics-endpoint", help=f"OTLP/gRPC endpoint for the evaluator's own metrics "
                        f"(env {OTEL_EXPORTER_OTLP_METRICS_ENDPOINT}; default: no metrics export)")
    parser.add_argument("--shutdown-grace", type=float, default=10.0,
                        help="seconds to finish in-flight scoring and exports on SIGTERM (default 10)")
    parser.add_argument("--log-level", default="INFO", type=str.upper,
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="logging level (default INFO)")
    add_sandbox_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = load_config(
            listen=args.listen, export_endpoint=args.export_endpoint, data_dir=args.data_dir,
            config_file=args.config, api_key=args.api_key, metrics_endpoint=args.metrics_endpoint,
            state_db=args.state_db, console_listen=args.console_listen,
        )
        sandbox = sandbox_config_from_args(args, config.sandbox)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr, flush=True)
        sys.exit(EXIT_CONFIG_ERROR)
    try:
        asyncio.run(serve(config, args.shutdown_grace, sandbox))
    except EvaluatorError as exc:  # StartupError, StateUnavailable, SandboxUnavailable, ...
        print(f"judgeval-evaluator: cannot start: {exc}", file=sys.stderr, flush=True)
        sys.exit(EXIT_START_ERROR)

async def serve(config: EvaluatorConfig, grace: float, sandbox: SandboxConfig | None = None) -> None:
    """Run until SIGTERM/SIGINT, then shut down gracefully. Uploaded scorers run in ``sandbox``."""
    state = open_shared_state(config.state_db_url)  # one connection for pauses and uploaded scorers
    auth = AdminAuth(config.api_key)  # one failed-attempt record for every admin service
    hosted = HostedScorers.create(config.data_dir, auth, sandbox, state=state)
    alerts = AlertManager(config.alerts, settings=config.alerting, channel_configs=config.channels,
                          calibration=config.calibration)
    calibration = CalibrationMonitor(config.calibration, state=state)
    backfills = BackfillService(config.backfill, state, uploaded=hosted.source, prices=config.judge.prices)
    app = EvaluatorApp(config, scorer_sources=[hosted.source], trajectory_sources=[hosted.trajectory_source],
                       service_installers=[hosted.install, alerts_installer(alerts, auth),
                                           behaviors_installer(state, auth,
                                                               config.behaviors.lifecycle.baseline_window_s,
                                                               config.behaviors.recluster_sample_size),
                                           calibration_installer(state, calibration, auth),
                                           datasets_installer(state, auth, Redactor.of(config.datasets),
                                                              trace_records=_trace_records(config)),
                                           evaluation_installer(lambda: app, auth),
                                           backfill_installer(backfills, auth)],
                       shared_state=state, alerts=alerts, calibration=calibration)
    backfills.attach(app)
    hosted.pool.report_egress_to(app.metrics.sandbox_llm_call)
    shadow = hosted.shadow_scoring(config.shadow, app.metrics)
    app.interactions.sinks.append(shadow.observe)
    try:
        await app.start()
        shadow.start()
    except BaseException:
        await shadow.stop()
        await app.stop(grace=0)
        await hosted.close()
        await state.close()
        raise
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    host = config.listen.rpartition(":")[0]
    print(f"judgeval-evaluator listening on {host}:{app.port}", flush=True)
    if app.console is not None:
        scheme = "https" if config.ingress.tls else "http"
        console_host = config.console.listen.rpartition(":")[0] if config.console.listen else host
        print(f"judgeval-evaluator console on {scheme}://{console_host}:{app.console.port}/", flush=True)
    await stop.wait()
    logging.getLogger(__name__).info("shutting down (grace %.0fs)", grace)
    await shadow.stop()
    await app.stop(grace)
    await hosted.close()
    await state.close()


def _trace_records(config: EvaluatorConfig) -> TraceRecords | None:
    """Where ``judgeval datasets add --trace`` reads traces: Jaeger at ``backfill.jaeger_url``."""
    url = config.backfill.jaeger_url
    return jaeger_trace_records(url, timeout_s=config.backfill.timeout_s) if url else None
