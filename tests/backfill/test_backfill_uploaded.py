"""Backfill with an uploaded scorer, in the sandbox that scores live traffic: results carry the version;
the same version never scores a span twice, a new version scores every span again, and ``NAME@V`` pins
an older version (which finds nothing left to do)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from judgeval import semconv

from evaluator_service.admin import HostedScorers
from evaluator_service.admin.backfill_servicer import backfill_installer
from evaluator_service.app import EvaluatorApp
from evaluator_service.backfill.service import BackfillService
from evaluator_service.config import load_config
from evaluator_service.sandbox import SandboxConfig, SandboxLimits
from evaluator_service.state import open_shared_state
from tests.backfill.past_traffic import PastTraffic
from tests.support.cli import run_cli
from tests.support.polling import eventually
from tools.localstack.stack import JaegerInstance

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the full sandbox needs a root evaluator")
NAME = "Parcel Scorer"
SCORERS = Path(__file__).parent / "scorers"
API_KEY = "backfill-test-key"
NOW = datetime.now(UTC)


@asynccontextmanager
async def evaluator_with_uploads(tmp_path: Path, jaeger: JaegerInstance) -> AsyncIterator[dict[str, str]]:
    """An evaluator app with hosted scorers and the backfill API, exporting straight to Jaeger."""
    config = load_config(listen="127.0.0.1:0", export_endpoint=jaeger.otlp_grpc_endpoint,
                         data_dir=str(tmp_path / "data"), api_key=API_KEY, environ={})
    config = replace(config, backfill=replace(config.backfill, jaeger_url=jaeger.query_url))
    state = open_shared_state(config.state_db_url)
    hosted = HostedScorers.create(config.data_dir, config.api_key,
                                  SandboxConfig(limits=SandboxLimits(wall_timeout_s=20)),
                                  envs_dir=tmp_path / "envs", pip_args=("--no-index",), state=state)
    backfills = BackfillService(config.backfill, state, uploaded=hosted.source)
    app = EvaluatorApp(config, scorer_sources=[hosted.source], shared_state=state,
                       service_installers=[hosted.install, backfill_installer(backfills, hosted.auth)])
    backfills.attach(app)
    await app.start()
    try:
        yield {"JUDGMENT_API_URL": f"127.0.0.1:{app.port}", "JUDGMENT_API_KEY": API_KEY}
    finally:
        await app.stop(grace=2.0)
        await hosted.close()
        await state.close()


async def backfill(env: dict[str, str], jaeger: JaegerInstance, scorer: str) -> str:
    result = await run_cli("backfill", "--scorer", scorer, "--service", "support-agent", "--since", "7d",
                           "--operation", "chat gpt-4o", "--jaeger", jaeger.query_url, "--yes", env=env)
    assert result.code == 0, result.stderr
    return result.stdout


def results(jaeger: JaegerInstance, trace_id: str) -> list[tuple[int, float]]:
    """(version, score) of the backfill results in the trace, oldest first."""
    spans = [s for s in jaeger.query.trace(trace_id) if s.name == f"evaluate {NAME}"]
    value = semconv.score_attribute(NAME, semconv.ScoreField.VALUE)
    return sorted((s.attributes[semconv.JUDGEVAL_EVALUATOR_VERSION], s.attributes[value]) for s in spans)


@pytest.mark.timeout(600)
async def test_an_uploaded_scorer_backfills_once_per_version(tmp_path: Path, jaeger: JaegerInstance) -> None:
    traffic = PastTraffic(jaeger)
    found = traffic.add(NOW - timedelta(days=2), "Where is my parcel?", "It left the depot.")
    lost = traffic.add(NOW - timedelta(days=1), "Where is my parcel?", "No idea.")
    traffic.flush()
    traffic.close()
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("")
    async with evaluator_with_uploads(tmp_path, jaeger) as env:
        upload = await run_cli("upload_scorer", str(SCORERS / "parcel_scorer_v1.py"), str(requirements),
                               env=env)
        assert upload.code == 0, upload.stderr
        first = await backfill(env, jaeger, NAME)
        assert f"Backfill of {NAME!r} v1" in first
        # one judge call assumed per span (backfill.uploaded_judge_calls_per_span), no price configured
        assert "to score: 2 spans, 2 judge calls" in first
        assert "cost unknown (no price for gpt-4o-mini" in first
        assert "finished: 2 of 2 spans: 1 passed, 1 failed, 0 errors" in first
        assert "to score: 0 spans" in await backfill(env, jaeger, NAME)
        upload = await run_cli("upload_scorer", str(SCORERS / "parcel_scorer_v2.py"), str(requirements),
                               "--new-version", env=env)
        assert upload.code == 0, upload.stderr
        second = await backfill(env, jaeger, NAME)
        assert f"Backfill of {NAME!r} v2" in second and "finished: 2 of 2 spans: 0 passed, 2 failed" in second
        assert "to score: 0 spans" in await backfill(env, jaeger, f"{NAME}@1")
    eventually(lambda: results(jaeger, found.trace_id) == [(1, 1.0), (2, 0.25)], "v1 and v2 on found", 60)
    eventually(lambda: results(jaeger, lost.trace_id) == [(1, 0.0), (2, 0.25)], "v1 and v2 on lost", 60)
