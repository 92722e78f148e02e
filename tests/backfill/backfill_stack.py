"""A running backfill stack for one test, and the ``judgeval backfill`` command run as a user runs it."""

from __future__ import annotations

import os
import pty
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
    log_path: Path | None = None

    def log(self) -> str:
        """The evaluator's log so far."""
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def backfill_argv(self, *args: str, jaeger: str | None = None, scorer: str = SCORER) -> list[str]:
        """``judgeval backfill --scorer relevancy --service support-agent ARGS --jaeger URL``."""
        where = [] if jaeger == "" else ["--jaeger", jaeger or self.jaeger.query_url]  # "": the config's
        return [str(Path(sys.executable).parent / "judgeval"), "backfill", "--scorer", scorer,
                "--service", "support-agent", *args, *where]

    def backfill_answering(self, answer: str, *args: str) -> subprocess.CompletedProcess[str]:
        """:meth:`backfill` with a terminal on stdin, typing ``answer`` at the confirmation question."""
        primary, secondary = pty.openpty()
        try:
            os.write(primary, f"{answer}\n".encode())
            env = self.env.process_env(JUDGMENT_API_URL=self.evaluator, JUDGMENT_API_KEY=self.env.api_key)
            return subprocess.run(self.backfill_argv(*args), env=env, capture_output=True, text=True,
                                  timeout=300, check=False, stdin=secondary)
        finally:
            os.close(primary)
            os.close(secondary)

    def backfill(self, *args: str, jaeger: str | None = None, scorer: str = SCORER
                 ) -> subprocess.CompletedProcess[str]:
        """Run :meth:`backfill_argv` to its end."""
        argv = self.backfill_argv(*args, jaeger=jaeger, scorer=scorer)
        env = self.env.process_env(JUDGMENT_API_URL=self.evaluator, JUDGMENT_API_KEY=self.env.api_key)
        return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300, check=False,
                              stdin=subprocess.DEVNULL)


def evaluator_config(judge: RecordedOpenAIServer, **backfill: Any) -> dict[str, Any]:
    return {
        # PER_CALL_USD a judge call: its estimated answer (backfill.output_tokens_per_call, 200 tokens) priced
        # so, its prompt free
        "judge": {"base_url": judge.base_url, "model": "judge-model", "prices": {"judge-model": {
            "input_per_1m_tokens": 0, "output_per_1m_tokens": PER_CALL_USD * 1e6 / 200}}},
        "scorers": [{"name": SCORER, "type": "answer_relevancy"}],
        "scoring": {"timeout_s": 10, "max_retries": 0},
        "backfill": {"page_limit": 2, **backfill},
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
    """One evaluator process with ``config``, exporting to ``export_endpoint``; ``--jaeger`` may name the
    test's Jaeger unless ``config`` sets ``backfill.allowed_jaeger_urls`` itself."""
    backfill = {"allowed_jaeger_urls": [jaeger.query_url], **config.get("backfill", {})}
    config_file = env.work_dir / f"{name}.yaml"
    config_file.write_text(yaml.safe_dump({**config, "backfill": backfill}))
    listen = listen or free_endpoint()
    with start_evaluator(env, listen, export_endpoint, "--config", str(config_file), *extra_args,
                         name=name) as instance:
        yield BackfillStack(env, listen, jaeger, instance.process.log_path)
