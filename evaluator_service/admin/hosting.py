"""One call that wires hosted scorers into an evaluator: registry, sandbox pool, source, admin API.

::

    state = open_shared_state(config.state_db_url)     # one database for pauses and uploads
    hosted = HostedScorers.create(config.data_dir, config.api_key, SandboxConfig(...), state=state)
    app = EvaluatorApp(config, scorer_sources=[hosted.source], service_installers=[hosted.install],
                       shared_state=state, trajectory_sources=[hosted.trajectory_source])
    shadow = hosted.shadow_scoring(config.shadow, app.metrics)   # scorer versions in shadow
    app.interactions.sinks.append(shadow.observe)
    await app.start(); shadow.start()
    ...
    await shadow.stop(); await app.stop(); await hosted.close(); await state.close()

Without ``state`` the registry keeps its own SQLite state in ``<data_dir>/state.sqlite3``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import grpc

from evaluator_service.admin.auth import AdminAuth
from evaluator_service.admin.scorer_versions_servicer import scorer_versions_installer
from evaluator_service.admin.servicer import install_admin_service
from evaluator_service.errors import StartupError, path_problem
from evaluator_service.metrics import EvaluatorMetrics
from evaluator_service.registry import EnvironmentInstaller, Registry
from evaluator_service.sandbox.config import SandboxConfig
from evaluator_service.sandbox.pool import SandboxPool
from evaluator_service.sandbox.uploaded_source import UploadedScorerSource
from evaluator_service.sandbox.uploaded_trace_source import UploadedTraceScorerSource
from evaluator_service.shadow.scoring import ShadowScoring
from evaluator_service.shadow.settings import ShadowConfig
from evaluator_service.state import SharedState


@dataclass
class HostedScorers:
    """The pieces an evaluator needs to accept uploads and score with uploaded scorers."""

    registry: Registry
    pool: SandboxPool
    source: UploadedScorerSource
    auth: AdminAuth
    """The admin key check; pass the same object to the other admin services' installers."""
    trajectory_source: UploadedTraceScorerSource = field(init=False)
    """Uploaded ``TraceScorer`` classes for trajectory requests (same registry and sandbox pool)."""

    def __post_init__(self) -> None:
        self.trajectory_source = UploadedTraceScorerSource(self.source)

    @classmethod
    def create(cls, data_dir: Path, api_key: AdminAuth | str | None, sandbox: SandboxConfig | None = None, *,
               envs_dir: Path | None = None, pip_args: tuple[str, ...] = (),
               state: SharedState | None = None) -> HostedScorers:
        """Registry in ``state`` (cached in ``<data_dir>/scorers``), environments in ``envs_dir`` (default
        ``<data_dir>-scorer-envs``), ``pip_args`` added to every install (e.g. ``("--no-index",)``). With an
        admin key (uploads enabled) the sandbox is checked now: :class:`SandboxUnavailable` names what is
        missing (e.g. ``bwrap``) unless the weaker ``isolation: none`` was chosen."""
        data_dir = Path(data_dir)
        envs = envs_dir or data_dir.with_name(f"{data_dir.name}-scorer-envs")
        installer = EnvironmentInstaller(envs, pip_args=pip_args)
        try:
            registry = Registry(data_dir, state=state, installer=installer)
        except OSError as exc:  # the data directory cannot be created or restricted
            raise StartupError(f"data dir {path_problem(data_dir, exc)}") from exc
        pool = SandboxPool(sandbox)
        admin = AdminAuth.of(api_key)
        if admin.api_key is not None:  # uploads are enabled: refuse to start without a working sandbox
            pool.prepare()
        # Last in the evaluator's chain, so it may answer unknown names: see UploadedScorerSource.
        return cls(registry, pool, UploadedScorerSource(registry, pool, recheck_unknown=True), admin)

    def install(self, server: grpc.aio.Server) -> None:
        """Service installer: adds the ScorerAdmin and ScorerVersionsAdmin APIs to the evaluator's server."""
        install_admin_service(server, self.registry, self.auth)
        scorer_versions_installer(self.registry, self.auth)(server)

    def shadow_scoring(self, config: ShadowConfig, metrics: EvaluatorMetrics | None = None) -> ShadowScoring:
        """Shadow versions of these uploads scored on production examples, results in the registry's state:
        add its :meth:`~ShadowScoring.observe` to ``app.interactions.sinks``, start it after the app, stop
        it before."""
        return ShadowScoring(self.source, self.registry.state, config, metrics)

    async def close(self) -> None:
        """Stop idle sandbox workers."""
        await self.pool.close()
