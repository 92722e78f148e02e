"""The two ways the local stack runs the loop: the full stack (Jaeger, collector, evaluator) and
collector-less (agents -> evaluator -> a JSON-lines file). Each starts its processes on ``stack`` (they
stop when it closes), runs the docs' examples and prints the summary, ending with the evaluator's web
console and the key to log in with; it returns True when the scored span reached the backend."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path

import yaml
from judgeval.testing import OtlpTraceReceiver

from tools.localstack import summary
from tools.localstack.binaries import OtelBinaries
from tools.localstack.ports import (
    WantedPorts,
    cli_line,
    console_lines,
    jaeger_ui_line,
    otlp_grpc_line,
    otlp_http_line,
)
from tools.localstack.procs import endpoint_preferring, free_endpoint
from tools.localstack.runner import (
    StackEnv,
    run_examples,
    run_quickstart,
    start_evaluator,
    upload_docs_scorer,
)
from tools.localstack.stack import start_collector, start_jaeger


def run_full(
    stack: contextlib.ExitStack, env: StackEnv, binaries: OtelBinaries, ports: WantedPorts,
    evaluator_args: Sequence[str] = (),
) -> bool:
    """Jaeger, the collector in front of it and the evaluator; agents export to the collector."""
    jaeger = stack.enter_context(
        start_jaeger(binaries.jaeger, env.work_dir / "jaeger", ui_port=ports.jaeger_ui))
    evaluator_endpoint = free_endpoint()
    collector = stack.enter_context(start_collector(
        binaries.otelcol, env.work_dir / "collector", evaluator_endpoint, jaeger.otlp_grpc_endpoint,
        grpc_port=ports.otlp_grpc, http_port=ports.otlp_http))
    print(jaeger_ui_line(jaeger.query_url, ports.jaeger_ui), flush=True)
    print(otlp_grpc_line("the collector", collector.grpc_endpoint, ports.otlp_grpc), flush=True)
    print(otlp_http_line("the collector", collector.http_endpoint, ports.otlp_http), flush=True)
    # Its metrics take the collector's metrics pipeline to the Prometheus endpoint, as in a deployment.
    console = endpoint_preferring(ports.console)
    evaluator_args = evaluator_args or _console_links_to(jaeger.query_url, env.work_dir)
    evaluator = stack.enter_context(start_evaluator(
        env, evaluator_endpoint, collector.grpc_endpoint, "--metrics-endpoint", collector.grpc_endpoint,
        "--console-listen", console, *evaluator_args))
    print(f"==> evaluator on {evaluator.endpoint} (OTLP, health, admin API); "
          f"metrics for Prometheus {collector.prometheus_url}", flush=True)
    upload_docs_scorer(env, evaluator.endpoint)
    runs = run_examples(env, collector.grpc_endpoint)
    found = summary.from_jaeger(jaeger.query, jaeger.query_url, runs,
                                lambda: run_quickstart(env, collector.grpc_endpoint))
    if found:
        _say_console(env, console, ports, evaluator.endpoint)
    return found


def run_collector_less(
    stack: contextlib.ExitStack, env: StackEnv, ports: WantedPorts, evaluator_args: Sequence[str] = ()
) -> bool:
    """The evaluator alone, taking OTLP/gRPC from the agents; enriched spans go to ``spans.jsonl``."""
    sink = stack.enter_context(OtlpTraceReceiver())
    evaluator_endpoint = endpoint_preferring(ports.otlp_grpc)
    console = endpoint_preferring(ports.console)
    evaluator = stack.enter_context(start_evaluator(env, evaluator_endpoint, sink.endpoint,
                                                    "--console-listen", console, *evaluator_args))
    print(otlp_grpc_line("the evaluator", evaluator.endpoint, ports.otlp_grpc), flush=True)
    print(f"==> enriched spans -> {env.work_dir / 'spans.jsonl'}", flush=True)
    upload_docs_scorer(env, evaluator.endpoint)
    runs = run_examples(env, evaluator.endpoint)
    found = summary.from_receiver(sink, env.work_dir / "spans.jsonl", runs,
                                  lambda: run_quickstart(env, evaluator.endpoint))
    if found:
        _say_console(env, console, ports, evaluator.endpoint)
    return found


def _say_console(env: StackEnv, console: str, ports: WantedPorts, admin_endpoint: str) -> None:
    """The last lines of the summary: the console's URL (on 127.0.0.1), the key to log in with, and what
    points the ``judgeval`` CLI at this evaluator's admin API."""
    for line in console_lines(f"http://{console}", ports.console, env.api_key):
        print(line, flush=True)
    print(cli_line(admin_endpoint, env.api_key), flush=True)


def _console_links_to(jaeger_url: str, work_dir: Path) -> tuple[str, ...]:
    """``--config`` of a file that only points the console's trace links at this stack's Jaeger (its UI
    may not be on 16686, the default link's port); used when the user gave no ``--config`` of their own."""
    config = work_dir / "evaluator-console.yaml"
    trace_url = f"{jaeger_url}/trace/{{trace_id}}?uiFind={{span_id}}"
    config.write_text(yaml.safe_dump({"console": {"trace_url": trace_url}}))
    return ("--config", str(config))
