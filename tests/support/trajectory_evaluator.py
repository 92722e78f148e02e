"""An evaluator process with the test trajectory scorer, for crash and replica tests: ``python -m
tests.support.trajectory_evaluator <config.yaml> <data_dir> <export_endpoint> [<listen>]``.

Prints ``port <n>`` once it listens, then runs until killed (a SIGKILL gives it no chance to clean up).
"""

from __future__ import annotations

import asyncio
import sys

from evaluator_service.app import EvaluatorApp
from evaluator_service.config import load_config
from tests.support.trajectories import LOOP_SCORER, ScorerShelf, ToolLoopScorer


async def main(config_file: str, data_dir: str, export_endpoint: str, listen: str = "127.0.0.1:0") -> None:
    config = load_config(
        listen=listen,
        export_endpoint=export_endpoint,
        data_dir=data_dir,
        config_file=config_file,
        environ={},
    )
    app = EvaluatorApp(config, trajectory_sources=[ScorerShelf({LOOP_SCORER: ToolLoopScorer()})])
    await app.start()
    print(f"port {app.port}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
