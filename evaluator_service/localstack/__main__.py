"""``scripts/run-stack``: the whole monitoring loop on this machine, with the docs' example agents.

Brings up, on loopback ports it picks itself: Jaeger v2 (in-memory), the OpenTelemetry Collector with
``collector-config/otelcol-jaeger.yaml``, and the evaluator; uploads the docs' ``PackageInquiryScorer``
through the real ``judgeval upload_scorer`` CLI; runs the docs' customer-service and multi-agent examples
against the collector; waits until the scored span is queryable in Jaeger; and prints a short summary with
the Jaeger URL of the scored trace.

Without ``OPENAI_API_KEY`` a local recorded OpenAI-compatible server answers the agents and the judge;
with a key, the real API is used. Without Go (no collector or Jaeger binary), the stack runs
collector-less: agents export straight to the evaluator, which writes the enriched spans to a JSON-lines
file. When run from a terminal the stack stays up until Ctrl-C so the traces can be browsed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import signal
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from judgeval.testing import OtlpTraceReceiver, RecordedOpenAIServer

from evaluator_service.localstack import summary
from evaluator_service.localstack.procs import (
    BinariesUnavailable,
    OtelBinaries,
    build_otel_binaries,
    free_endpoint,
)
from evaluator_service.localstack.runner import (
    StackEnv,
    run_examples,
    run_quickstart,
    start_evaluator,
    upload_docs_scorer,
)
from evaluator_service.localstack.stack import start_collector, start_jaeger


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="run-stack", description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--work-dir", type=Path, help="logs and data (default: a new temporary directory)")
    parser.add_argument("--no-collector", action="store_true", help="run collector-less even if Go exists")
    parser.add_argument("--keep-running", action=argparse.BooleanOptionalAction, default=None,
                        help="keep the stack up until Ctrl-C (default: only when stdin is a terminal)")
    args = parser.parse_args(argv)
    work_dir = args.work_dir or Path(tempfile.mkdtemp(prefix="judgeval-stack-"))
    keep = sys.stdin.isatty() if args.keep_running is None else args.keep_running
    print(f"==> work dir (logs, data): {work_dir}", flush=True)
    with contextlib.ExitStack() as stack:
        llm_env = stack.enter_context(_llm())
        binaries = None if args.no_collector else _binaries()
        if binaries is None:
            ok = _run_collector_less(stack, work_dir, llm_env)
        else:
            ok = _run_full(stack, work_dir, llm_env, binaries)
        if ok and keep:
            _wait_for_ctrl_c()
    return 0 if ok else 1


@contextlib.contextmanager
def _llm() -> Iterator[dict[str, str]]:
    if os.environ.get("OPENAI_API_KEY"):
        print("==> LLM: the real OpenAI API (OPENAI_API_KEY is set)", flush=True)
        yield {}
        return
    with RecordedOpenAIServer() as server:
        print(f"==> LLM: local recorded OpenAI-compatible server at {server.base_url}", flush=True)
        yield {"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "local-recordings"}


def _binaries() -> OtelBinaries | None:
    print("==> collector and Jaeger binaries (scripts/otel-binaries; the first build takes minutes)",
          flush=True)
    try:
        return build_otel_binaries(show_progress=True)
    except BinariesUnavailable as exc:
        print(f"==> {exc}\n==> continuing collector-less: agents -> evaluator -> file", flush=True)
        return None


def _run_full(
    stack: contextlib.ExitStack, work_dir: Path, llm_env: dict[str, str], binaries: OtelBinaries
) -> bool:
    jaeger = stack.enter_context(start_jaeger(binaries.jaeger, work_dir / "jaeger"))
    evaluator_endpoint = free_endpoint()
    collector = stack.enter_context(start_collector(
        binaries.otelcol, work_dir / "collector", evaluator_endpoint, jaeger.otlp_grpc_endpoint))
    print(f"==> Jaeger UI {jaeger.query_url}; collector OTLP/gRPC {collector.grpc_endpoint}", flush=True)
    env = StackEnv(work_dir, secrets.token_urlsafe(24), llm_env)
    # Its metrics take the collector's metrics pipeline to the Prometheus endpoint, as in a deployment.
    evaluator = stack.enter_context(start_evaluator(
        env, evaluator_endpoint, collector.grpc_endpoint, "--metrics-endpoint", collector.grpc_endpoint))
    print(f"==> evaluator {evaluator.endpoint} (OTLP, health, admin API); "
          f"metrics for Prometheus {collector.prometheus_url}", flush=True)
    upload_docs_scorer(env, evaluator.endpoint)
    runs = run_examples(env, collector.grpc_endpoint)
    return summary.from_jaeger(jaeger.query, jaeger.query_url, runs,
                               lambda: run_quickstart(env, collector.grpc_endpoint))


def _run_collector_less(stack: contextlib.ExitStack, work_dir: Path, llm_env: dict[str, str]) -> bool:
    sink = stack.enter_context(OtlpTraceReceiver())
    env = StackEnv(work_dir, secrets.token_urlsafe(24), llm_env)
    evaluator_endpoint = free_endpoint()
    evaluator = stack.enter_context(start_evaluator(env, evaluator_endpoint, sink.endpoint))
    print(f"==> evaluator {evaluator.endpoint}; enriched spans -> {work_dir / 'spans.jsonl'}", flush=True)
    upload_docs_scorer(env, evaluator.endpoint)
    runs = run_examples(env, evaluator.endpoint)
    return summary.from_receiver(sink, work_dir / "spans.jsonl", runs,
                                 lambda: run_quickstart(env, evaluator.endpoint))


def _wait_for_ctrl_c() -> None:
    print("==> the stack stays up; press Ctrl-C to stop it", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        signal.pause()


if __name__ == "__main__":
    sys.exit(main())
