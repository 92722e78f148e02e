"""A real evaluator for replay tests: hosted scorers in the real sandbox, the Datasets and Evaluation admin
APIs, the scorers of ``scorers/replay_scorers.py`` uploaded with the CLI, production interaction records."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from judgeval.protocol.interaction_record import InteractionRecord

from evaluator_service.admin import HostedScorers
from evaluator_service.admin.datasets_servicer import datasets_installer
from evaluator_service.admin.evaluation_servicer import evaluation_installer
from evaluator_service.app import EvaluatorApp
from evaluator_service.config import load_config
from evaluator_service.datasets.redaction import Redactor
from evaluator_service.sandbox import SandboxConfig, SandboxLimits
from evaluator_service.state import SharedState, open_shared_state
from tests.support.cli import run_cli

from .admin_server import API_KEY, SCORERS

REPLAY_SCORERS = SCORERS / "replay_scorers.py"
NAME = "Package Inquiry Scorer"
WRONG_TOPIC = "bhv-wrong-topic"
"""The behavior production placed the failing answers in."""
LIMITS = SandboxLimits(wall_timeout_s=20, startup_timeout_s=60)


@dataclass
class ReplayEvaluator:
    """The running evaluator and the environment that points the CLI at it."""

    app: EvaluatorApp
    hosted: HostedScorers
    state: SharedState
    """Where the evaluator keeps datasets (and uploads)."""
    env: dict[str, str]


@asynccontextmanager
async def replay_evaluator(tmp_path: Path, envs_dir: Path, config_file: str | None = None,
                           export_endpoint: str | None = None) -> AsyncIterator[ReplayEvaluator]:
    config = load_config(listen="127.0.0.1:0", data_dir=str(tmp_path / "data"), api_key=API_KEY,
                         config_file=config_file, export_endpoint=export_endpoint, environ={})
    state = open_shared_state(f"sqlite:///{tmp_path / 'state.sqlite3'}")
    hosted = HostedScorers.create(config.data_dir, config.api_key, SandboxConfig(limits=LIMITS),
                                  envs_dir=envs_dir, pip_args=("--no-index",), state=state)
    app: EvaluatorApp
    app = EvaluatorApp(config, scorer_sources=[hosted.source], shared_state=state, service_installers=[
        hosted.install, datasets_installer(state, hosted.auth, Redactor.of(config.datasets)),
        evaluation_installer(lambda: app, hosted.auth)])
    await app.start()
    try:
        yield ReplayEvaluator(app, hosted, state, {"JUDGMENT_API_URL": f"127.0.0.1:{app.port}",
                                                   "JUDGMENT_API_KEY": API_KEY})
    finally:
        await app.stop(grace=2.0)
        await hosted.close()
        await state.close()


async def upload(evaluator: ReplayEvaluator, tmp_path: Path, class_name: str, *flags: str) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("pydantic\n")
    uploaded = await run_cli("upload_scorer", str(REPLAY_SCORERS), str(requirements), "--class", class_name,
                             *flags, env=evaluator.env)
    assert uploaded.code == 0, uploaded.stderr


def record(index: int, request: str, response: str, passed: bool, **fields: Any) -> InteractionRecord:
    return InteractionRecord(
        scorer=NAME, trace_id=f"{index:032x}", span_id=f"{index:016x}", at=1_700_000_000.0 + index,
        example={"request": request, "response": response}, threshold=0.5, score=1.0 if passed else 0.0,
        passed=passed, reason="production", service="support-bot", agent="support",
        behavior_id=None if passed else WRONG_TOPIC, **fields)


def production_records() -> list[InteractionRecord]:
    """Two answers that passed in production and three that failed (in one behavior)."""
    return [
        record(1, "Where is my package?", "Your package left the depot today.", True),
        record(2, "Has my package shipped?", "Yes, the package shipped on Monday.", True),
        record(3, "My package is late", "Please try turning it off and on again.", False),
        record(4, "Where is parcel 42?", "We sell many fine products.", False),
        record(5, "Package damaged", "Thanks for your feedback!", False),
    ]


def write_records(path: Path, records: list[InteractionRecord]) -> Path:
    path.write_text("".join(json.dumps(r.to_json()) + "\n" for r in records))
    return path


FIXED_AGENT = '''
def answer(request):
    """The fixed prompt: every answer is about the customer's package."""
    return f"About your package: we looked into '{request}' and it ships today."
'''
