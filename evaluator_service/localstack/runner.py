"""The evaluator process and the docs' programs, as the local stack runs them.

Everything here runs the real thing a user would: the ``judgeval-evaluator`` console command, the
``judgeval upload_scorer`` CLI, and the examples as plain ``python`` processes configured only through the
standard ``OTEL_*`` and ``OPENAI_*`` environment variables.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from judgeval import environment_variables
from opentelemetry.sdk.environment_variables import OTEL_SERVICE_NAME

from evaluator_service.errors import EvaluatorError
from evaluator_service.localstack.procs import REPO_ROOT, RunningProcess, run_process

EXAMPLES_DIR = REPO_ROOT / "examples"
CUSTOMER_SERVICE_DIR = EXAMPLES_DIR / "customer_service"
MULTI_AGENT_DIR = EXAMPLES_DIR / "multi_agent"
BIN_DIR = Path(sys.executable).parent


class StackError(EvaluatorError, RuntimeError):
    """A step of the local stack failed; the message says which and shows the output."""


@dataclass(frozen=True)
class StackEnv:
    """What every process of one local stack shares."""

    work_dir: Path
    api_key: str
    llm_env: dict[str, str] = field(default_factory=dict)

    def process_env(self, **extra: str) -> dict[str, str]:
        return {**os.environ, **self.llm_env, **extra}


@dataclass(frozen=True)
class EvaluatorInstance:
    """A running ``judgeval-evaluator``."""

    endpoint: str
    process: RunningProcess


@dataclass(frozen=True)
class ExampleRun:
    """One finished example program."""

    name: str
    service_name: str
    output: str


@contextmanager
def start_evaluator(
    env: StackEnv, listen: str, export_endpoint: str, *extra_args: str, name: str = "evaluator"
) -> Iterator[EvaluatorInstance]:
    """Run ``judgeval-evaluator`` until the block exits; ready once it prints its listening line."""
    argv = [
        str(BIN_DIR / "judgeval-evaluator"), "--listen", listen, "--export-endpoint", export_endpoint,
        "--data-dir", str(env.work_dir / f"{name}-data"), *extra_args,
    ]
    # The key reaches the evaluator through its environment, never its command line (visible in ps).
    process_env = env.process_env(**{environment_variables.JUDGMENT_API_KEY: env.api_key})
    with run_process(name, argv, process_env, env.work_dir / f"{name}.log",
                     ready_log=r"judgeval-evaluator listening on") as process:
        yield EvaluatorInstance(listen, process)


def upload_docs_scorer(env: StackEnv, evaluator_endpoint: str) -> str:
    """``judgeval upload_scorer customer_service_scorer.py requirements.txt``, exactly as the docs say."""
    scorer_file = CUSTOMER_SERVICE_DIR / "customer_service_scorer.py"
    requirements = CUSTOMER_SERVICE_DIR / "requirements.txt"
    argv = [str(BIN_DIR / "judgeval"), "upload_scorer", str(scorer_file), str(requirements), "--overwrite"]
    cli_env = env.process_env(
        **{environment_variables.JUDGMENT_API_URL: evaluator_endpoint,
           environment_variables.JUDGMENT_API_KEY: env.api_key}
    )
    result = subprocess.run(argv, env=cli_env, capture_output=True, text=True, timeout=900, check=False)
    if result.returncode != 0:
        raise StackError(f"judgeval upload_scorer failed:\n{result.stdout}{result.stderr}")
    line = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else "uploaded"
    print(f"==> {line}", flush=True)
    return line


def run_example(env: StackEnv, otlp_endpoint: str, name: str, script: Path, service_name: str) -> ExampleRun:
    """Run one example program with its spans exported to ``otlp_endpoint`` over OTLP/gRPC."""
    process_env = env.process_env(
        OTEL_EXPORTER_OTLP_ENDPOINT=f"http://{otlp_endpoint}",
        OTEL_EXPORTER_OTLP_PROTOCOL="grpc",
    )
    process_env.pop(OTEL_SERVICE_NAME, None)
    result = subprocess.run(
        [sys.executable, script.name], cwd=script.parent, env=process_env,
        capture_output=True, text=True, timeout=300, check=False,
    )
    if result.returncode != 0:
        raise StackError(f"example {name} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return ExampleRun(name, service_name, result.stdout.strip())


def run_quickstart(env: StackEnv, otlp_endpoint: str) -> ExampleRun:
    """The docs' customer-service quickstart (``examples/customer_service/agent.py``)."""
    return run_example(env, otlp_endpoint, "customer service quickstart",
                       CUSTOMER_SERVICE_DIR / "agent.py", "customer_service")


def run_examples(env: StackEnv, otlp_endpoint: str) -> list[ExampleRun]:
    """The docs' customer-service quickstart and multi-agent example."""
    print("==> running the docs' examples", flush=True)
    multi_agent = run_example(env, otlp_endpoint, "multi-agent system", MULTI_AGENT_DIR / "main.py",
                              "multi-agent-system")
    return [run_quickstart(env, otlp_endpoint), multi_agent]
