"""A running backfill stack for one test, and the ``judgeval backfill`` command run as a user runs it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from judgeval.testing.openai_server import RecordedOpenAIServer

from tools.localstack.binaries import OtelBinaries
from tools.localstack.procs import free_endpoint
from tools.localstack.runner import StackEnv, start_evaluator
from tools.localstack.stack import JaegerInstance, start_collector

SCORER = "relevancy"
PER_CALL_USD = 0.01


@dataclass
class BackfillStack:
    env: StackEnv
    evaluator: str
    jaeger: JaegerInstance

    def backfill_argv(self, *args: str, jaeger: str | None = None, scorer: str = SCORER) -> list[str]:
        """``judgeval backfill --scorer relevancy --service support-agent ARGS --jaeger URL``."""
        return [str(Path(sys.executable).parent / "judgeval"), "backfill", "--scorer", scorer,
                "--service", "support-agent", *args, "--jaeger", jaeger or self.jaeger.query_url]

    def backfill(self, *args: str, jaeger: str | None = None, scorer: str = SCORER
                 ) -> subprocess.CompletedProcess[str]:
        """Run :meth:`backfill_argv` to its end."""
        argv = self.backfill_argv(*args, jaeger=jaeger, scorer=scorer)
        env = self.env.process_env(JUDGMENT_API_URL=self.evaluator, JUDGMENT_API_KEY=self.env.api_key)
        return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300, check=False,
                              stdin=subprocess.DEVNULL)


def evaluator_config(judge: RecordedOpenAIServer, **backfill: Any) -> dict[str, Any]:
    return {
        "judge": {"base_url": judge.base_url, "model": "judge-model"},
        "scorers": [{"name": SCORER, "type": "answer_relevancy"}],
        "scoring": {"timeout_s": 10, "max_retries": 0},
        "backfill": {"prices": {"judge-model": {"per_call_usd": PER_CALL_USD}}, "page_limit": 2, **backfill},
    }


@contextmanager
def backfill_stack(binaries: OtelBinaries, env: StackEnv, jaeger: JaegerInstance,
                   config: dict[str, Any]) -> Iterator[BackfillStack]:
    """Collector (to Jaeger) and an evaluator exporting to the collector, with ``config``."""
    listen = free_endpoint()
    otelcol_dir = env.work_dir / "otelcol"
    with start_collector(binaries.otelcol, otelcol_dir, listen, jaeger.otlp_grpc_endpoint) as collector, \
            evaluator(env, jaeger, config, collector.grpc_endpoint, listen) as stack:
        yield stack


@contextmanager
def evaluator(env: StackEnv, jaeger: JaegerInstance, config: dict[str, Any], export_endpoint: str,
              listen: str | None = None, *extra_args: str, name: str = "evaluator"
              ) -> Iterator[BackfillStack]:
    """One evaluator process with ``config``, exporting to ``export_endpoint``."""
    config_file = env.work_dir / f"{name}.yaml"
    config_file.write_text(yaml.safe_dump(config))
    listen = listen or free_endpoint()
    with start_evaluator(env, listen, export_endpoint, "--config", str(config_file), *extra_args, name=name):
        yield BackfillStack(env, listen, jaeger)
