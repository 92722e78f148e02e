"""The evaluator's configuration: one frozen dataclass resolved flag > environment > YAML > default.

:func:`load_config` is the only entry point. Every user mistake raises :class:`ConfigError` whose message
names the offending field the way the YAML spells it (``scorers[2].model: required for type
answer_relevancy``), so the CLI can print one line and exit 2.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from judgeval.environment_variables import JUDGMENT_API_KEY
from opentelemetry.sdk.environment_variables import OTEL_EXPORTER_OTLP_METRICS_ENDPOINT

from evaluator_service.alerts.channels.config import ChannelConfig, parse_channels
from evaluator_service.alerts.config import AlertConfig, AlertingConfig, parse_alerting, parse_alerts
from evaluator_service.backfill.settings import BackfillConfig, parse_backfill
from evaluator_service.behaviors.settings import BehaviorsConfig, parse_behaviors
from evaluator_service.calibration.config import CalibrationConfig, parse_calibration
from evaluator_service.config_sections import (
    ExportConfig,
    QueueConfig,
    RuleConfig,
    parse_export,
    parse_queue,
    parse_rules,
)
from evaluator_service.config_values import ConfigError, Section
from evaluator_service.console.settings import ConsoleDataConfig, parse_console_data
from evaluator_service.console.web_settings import ConsoleConfig, parse_console
from evaluator_service.datasets.settings import DatasetsConfig, parse_datasets
from evaluator_service.environment_variables import (
    JUDGEVAL_EVALUATOR_CONFIG,
    JUDGEVAL_EVALUATOR_DATA_DIR,
    JUDGEVAL_EVALUATOR_EXPORT_ENDPOINT,
    JUDGEVAL_EVALUATOR_LISTEN,
    JUDGEVAL_EVALUATOR_STATE_DB,
)
from evaluator_service.ingress import IngressConfig, parse_ingress
from evaluator_service.replay.settings import ReplayConfig, parse_replay
from evaluator_service.sandbox.config import SandboxConfig, parse_sandbox
from evaluator_service.scoring.settings import (
    JudgeConfig,
    ScorerConfig,
    ScorerLimits,
    ScoringConfig,
    parse_judge,
    parse_limits,
    parse_scorers,
    parse_scoring,
)
from evaluator_service.shadow.settings import ShadowConfig, parse_shadow
from evaluator_service.state.urls import check_url, default_state_url, masked
from evaluator_service.trajectories.settings import TrajectoryConfig, parse_trajectories

DEFAULT_LISTEN = "127.0.0.1:4320"
DEFAULT_EXPORT_ENDPOINT = "127.0.0.1:4317"
DEFAULT_DATA_DIR = "./.judgeval-data"

__all__ = [
    "ConfigError",
    "EvaluatorConfig",
    "ExportConfig",
    "JudgeConfig",
    "QueueConfig",
    "RuleConfig",
    "ScorerConfig",
    "ScorerLimits",
    "ScoringConfig",
    "load_config",
    "normalize_endpoint",
]


@dataclass(frozen=True)
class EvaluatorConfig:
    """Everything the evaluator needs to run, already validated."""

    listen: str = DEFAULT_LISTEN
    export_endpoint: str = DEFAULT_EXPORT_ENDPOINT
    data_dir: Path = Path(DEFAULT_DATA_DIR)
    api_key: str | None = None
    metrics_endpoint: str | None = None
    state_db: str | None = None
    queue: QueueConfig = field(default_factory=QueueConfig)
    scoring: ScoringConfig = field(default_factory=ScoringConfig)
    export: ExportConfig = field(default_factory=ExportConfig)
    judge: JudgeConfig = field(default_factory=JudgeConfig)
    scorers: tuple[ScorerConfig, ...] = ()
    rules: tuple[RuleConfig, ...] = ()
    limits: dict[str, ScorerLimits] = field(default_factory=dict)
    behaviors: BehaviorsConfig = field(default_factory=BehaviorsConfig)
    alerts: tuple[AlertConfig, ...] = ()
    channels: dict[str, ChannelConfig] = field(default_factory=dict)
    """Named notification targets (YAML ``channels:``), secrets resolved from the environment."""
    alerting: AlertingConfig = field(default_factory=AlertingConfig)
    """The alert engine's timings (YAML ``alerting:``): tick, retention, outbox retries."""
    sandbox: SandboxConfig = field(default_factory=SandboxConfig)
    """How uploaded scorers' worker processes run (YAML ``sandbox:``; the ``--scorer-*`` flags win)."""
    ingress: IngressConfig = field(default_factory=IngressConfig)
    """TLS, the OTLP bearer token and the OTLP/HTTP listener (YAML ``ingress:``)."""
    trajectories: TrajectoryConfig = field(default_factory=TrajectoryConfig)
    """Trajectory and session scoring: completion timers, late spans, buffer bounds (YAML
    ``trajectories:``)."""
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    """Judge calibration: the window, label minimum and confidence of corrected failure rates (YAML
    ``calibration:``)."""
    shadow: ShadowConfig = field(default_factory=ShadowConfig)
    """Scorer versions in shadow: queue, concurrency, retention of their results (YAML ``shadow:``)."""
    datasets: DatasetsConfig = field(default_factory=DatasetsConfig)
    """Which scored interactions are kept in which dataset, redaction, retention (YAML ``datasets:``)."""
    console: ConsoleConfig = field(default_factory=ConsoleConfig)
    """The web console (YAML ``console:``; ``--console-listen``): off unless it has a listen address."""
    console_data: ConsoleDataConfig = field(default_factory=ConsoleDataConfig)
    """What is recorded for the console (rollups, failing interactions, not-evaluated spans) and how long it
    is kept (YAML ``console_data:``)."""
    backfill: BackfillConfig = field(default_factory=BackfillConfig)
    """Backfills: the trace backend to read past spans from and what judge calls cost (YAML ``backfill:``)."""
    replay: ReplayConfig = field(default_factory=ReplayConfig)
    """Dataset replays: how many finished runs are kept for the console (YAML ``replay:``)."""

    @property
    def state_db_url(self) -> str:
        """The shared-state database: ``state_db`` when set, else SQLite in the data directory."""
        return self.state_db or default_state_url(self.data_dir)

    def scorer_limits(self) -> dict[str, ScorerLimits]:
        """Per-scorer limits: a YAML scorer's own settings, field by field overridden by ``limits:``."""
        merged = {s.name: ScorerLimits(s.timeout_s, s.max_retries, s.rate_limit) for s in self.scorers}
        for name, override in self.limits.items():
            base = merged.get(name, ScorerLimits())
            merged[name] = ScorerLimits(
                timeout_s=override.timeout_s if override.timeout_s is not None else base.timeout_s,
                max_retries=override.max_retries if override.max_retries is not None else base.max_retries,
                rate_limit=override.rate_limit if override.rate_limit is not None else base.rate_limit,
            )
        return merged


def normalize_endpoint(value: str, where: str) -> str:
    """``http://host:port`` or ``host:port`` → ``host:port``; raises :class:`ConfigError` otherwise."""
    text = value.strip()
    for prefix in ("http://", "grpc://"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    text = text.rstrip("/")
    if text.startswith("https://"):
        raise ConfigError(f"{where}: TLS endpoints are not supported yet, use host:port ({value!r})")
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"{where}: expected HOST:PORT, got {value!r}")
    return text


def load_config(
    *,
    listen: str | None = None,
    export_endpoint: str | None = None,
    data_dir: str | None = None,
    config_file: str | None = None,
    api_key: str | None = None,
    metrics_endpoint: str | None = None,
    state_db: str | None = None,
    console_listen: str | None = None,
    environ: dict[str, str] | None = None,
) -> EvaluatorConfig:
    """Resolve explicit values (CLI flags) > environment > YAML file > defaults into a validated config."""
    env = dict(os.environ if environ is None else environ)
    path = config_file or env.get(JUDGEVAL_EVALUATOR_CONFIG)
    doc = _read_yaml(path) if path else Section({}, "")
    doc.reject_unknown(_TOP_LEVEL_KEYS)

    def pick(explicit: str | None, env_name: str, key: str, default: str | None) -> str | None:
        if explicit:
            return explicit
        if env.get(env_name):
            return env[env_name]
        return doc.opt_str(key) or default

    metrics = pick(metrics_endpoint, OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, "metrics_endpoint", None)
    state_url = pick(state_db, JUDGEVAL_EVALUATOR_STATE_DB, "state_db", None)
    if state_url and (problem := check_url(state_url)) is not None:
        raise ConfigError(f"state_db: {problem}, got {masked(state_url)!r}")
    channels = parse_channels(doc.section("channels"), env)
    config = EvaluatorConfig(
        listen=normalize_endpoint(
            pick(listen, JUDGEVAL_EVALUATOR_LISTEN, "listen", DEFAULT_LISTEN) or "", "listen"
        ),
        export_endpoint=normalize_endpoint(
            pick(export_endpoint, JUDGEVAL_EVALUATOR_EXPORT_ENDPOINT, "export_endpoint",
                 DEFAULT_EXPORT_ENDPOINT) or "",
            "export_endpoint",
        ),
        data_dir=Path(
            pick(data_dir, JUDGEVAL_EVALUATOR_DATA_DIR, "data_dir", DEFAULT_DATA_DIR) or DEFAULT_DATA_DIR
        ),
        api_key=pick(api_key, JUDGMENT_API_KEY, "api_key", None),
        metrics_endpoint=normalize_endpoint(metrics, "metrics_endpoint") if metrics else None,
        state_db=state_url,
        queue=parse_queue(doc.section("queue")),
        scoring=parse_scoring(doc.section("scoring")),
        export=parse_export(doc.section("export")),
        judge=(judge := parse_judge(doc.section("judge"))),
        scorers=parse_scorers(doc.section_list("scorers"), judge),
        rules=parse_rules(doc.section_list("rules")),
        limits=parse_limits(doc.section("limits")),
        behaviors=parse_behaviors(doc.section("behaviors")),
        alerts=parse_alerts(doc.section_list("alerts"), frozenset(channels)),
        alerting=parse_alerting(doc.section("alerting")),
        channels=channels,
        sandbox=parse_sandbox(doc.section("sandbox")),
        ingress=parse_ingress(doc.section("ingress"), env, normalize_endpoint),
        trajectories=parse_trajectories(doc.section("trajectories")),
        calibration=parse_calibration(doc.section("calibration")),
        shadow=parse_shadow(doc.section("shadow")),
        datasets=parse_datasets(doc.section("datasets")),
        console=parse_console(doc.section("console"), env, normalize_endpoint, console_listen),
        console_data=parse_console_data(doc.section("console_data")),
        backfill=parse_backfill(doc.section("backfill")),
        replay=parse_replay(doc.section("replay")),
    )
    if config.ingress.http_listen == config.listen and not config.listen.endswith(":0"):
        raise ConfigError(f"ingress.http_listen: {config.listen} is already the gRPC listen address")
    if config.export_endpoint == config.listen:
        raise ConfigError(f"export_endpoint: {config.export_endpoint} is the evaluator's own listen address; "
                          "forwarded spans would loop back into it")
    _check_console(config)
    return config


def _check_console(config: EvaluatorConfig) -> None:
    console = config.console
    if console.listen is None:
        return
    if not config.api_key and not console.read_only_key:
        raise ConfigError(f"console.listen: the console needs a key to log in with: the admin key "
                          f"({JUDGMENT_API_KEY}) or console.read_only_key")
    if console.listen in (config.listen, config.ingress.http_listen) and not console.listen.endswith(":0"):
        raise ConfigError(f"console.listen: {console.listen} is already taken by another evaluator listener")
    if console.read_only_key and console.read_only_key == config.api_key:
        raise ConfigError("console.read_only_key: must differ from the admin key")


_TOP_LEVEL_KEYS = frozenset(
    {"listen", "export_endpoint", "data_dir", "api_key", "metrics_endpoint", "state_db", "queue", "scoring",
     "export", "judge", "scorers", "rules", "limits", "behaviors",
     "alerts", "alerting", "channels", "sandbox", "ingress", "trajectories",
     "calibration", "shadow", "datasets", "console", "console_data", "backfill",
     "replay"}
)


def _read_yaml(path: str) -> Section:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"config file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {path}: not UTF-8 text (byte {exc.start})") from None
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"config file {path}{where}: not valid YAML") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path}: top level must be a mapping")
    return Section(data, "")
