"""One peer's per-call overhead: the same trivial function, decorated by one tracing library.

Runs inside that peer's own virtual environment (it imports only the peer and the OpenTelemetry SDK), so
it must not import anything from this repository. The harness (``agent_overhead.py``) starts the OTLP
receiver and reads the JSON line this script prints.

Timing: ``blocks`` blocks of ``calls`` calls each, each block timed with ``time.perf_counter_ns``; the
result is the median (and p10/p90) of the per-call time of the blocks. Between blocks the provider is
flushed outside the timed region, so the batch queue (2048 spans by default) never overflows: every span
is exported and counted at the receiver, and no peer looks faster by dropping spans. The exporter thread
still runs during the timed blocks (it wakes every 512 spans), as it would in a real app.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

ARGUMENT = "Where is my package? Order #12345 was due yesterday."


def trivial(question: str) -> str:
    """The workload: returns its argument, so only the decorator's cost is measured."""
    return question


def setup_undecorated(endpoint: str) -> tuple[Callable[[str], str], Callable[[], Any]]:
    return trivial, lambda: None


def _otlp_grpc_provider(endpoint: str, provider_class: Any = None) -> Any:
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    cls = provider_class or TracerProvider
    provider = cls(resource=Resource.create({"service.name": "bench"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint, insecure=True)))
    return provider


def setup_raw_otel(endpoint: str) -> tuple[Callable[[str], str], Callable[[], Any]]:
    """The floor: a minimal decorator around ``tracer.start_as_current_span`` on the stock SDK."""
    import functools

    provider = _otlp_grpc_provider(endpoint)
    tracer = provider.get_tracer("bench")

    def traced(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with tracer.start_as_current_span(func.__name__):
                return func(*args, **kwargs)

        return wrapper

    return traced(trivial), provider.force_flush


def setup_raw_otel_same_data(endpoint: str) -> tuple[Callable[[str], str], Callable[[], Any]]:
    """Raw OTel recording what ``@observe`` records (project, span type, JSON input and output)."""
    import functools
    import json

    provider = _otlp_grpc_provider(endpoint)
    tracer = provider.get_tracer("bench")
    static = {"judgeval.project.name": "bench", "judgeval.span.type": "function"}

    def traced(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with tracer.start_as_current_span(func.__name__, attributes=static) as span:
                span.set_attribute("judgeval.input", json.dumps({"question": args[0]}))
                result = func(*args, **kwargs)
                span.set_attribute("judgeval.output", json.dumps(result))
                return result

        return wrapper

    return traced(trivial), provider.force_flush


def setup_ours(endpoint: str) -> tuple[Callable[[str], str], Callable[[], Any]]:
    """This project's ``@judgment.observe``, configured only by the standard OTEL_* variables."""
    os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://{endpoint}"
    os.environ["OTEL_EXPORTER_OTLP_INSECURE"] = "true"
    from judgeval.tracer import Tracer

    judgment = Tracer(project_name="bench")
    work = judgment.observe(span_type="function")(trivial)
    return work, judgment.flush


def setup_judgeval_pypi(endpoint: str) -> tuple[Callable[[str], str], Callable[[], Any]]:
    """PyPI ``judgeval``: its own processor and OTLP/HTTP exporter, against a local stand-in of its API."""
    os.environ.setdefault("JUDGMENT_API_KEY", "bench-key")
    os.environ.setdefault("JUDGMENT_ORG_ID", "bench-org")
    os.environ["JUDGMENT_API_URL"] = f"http://{endpoint}"
    from judgeval import Tracer  # type: ignore[attr-defined]  # PyPI judgeval, in its own venv

    Tracer.init(project_name="bench")
    work = Tracer.observe(span_type="function")(trivial)
    return work, lambda: Tracer.force_flush(30000)


def setup_traceloop(endpoint: str) -> tuple[Callable[[str], str], Callable[[], Any]]:
    """OpenLLMetry: ``Traceloop.init`` with a gRPC OTLP exporter and the ``@task`` decorator."""
    os.environ["TRACELOOP_TELEMETRY"] = "false"
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.trace import get_tracer_provider
    from traceloop.sdk import Traceloop
    from traceloop.sdk.decorators import task

    Traceloop.init(
        app_name="bench",
        exporter=OTLPSpanExporter(endpoint=endpoint, insecure=True),
        telemetry_enabled=False,
        disable_batch=False,
    )
    work = task(name="trivial")(trivial)
    return work, get_tracer_provider().force_flush  # type: ignore[attr-defined]


def setup_openinference(endpoint: str) -> tuple[Callable[[str], str], Callable[[], Any]]:
    """OpenInference: its ``TracerProvider`` hands out an ``OITracer``; ``@tracer.chain`` decorates."""
    from openinference.instrumentation import TracerProvider as OITracerProvider

    provider = _otlp_grpc_provider(endpoint, OITracerProvider)
    tracer = provider.get_tracer("bench")
    work = tracer.chain(trivial)
    return work, provider.force_flush


PEERS = {
    "undecorated": setup_undecorated,
    "raw-otel": setup_raw_otel,
    "raw-otel-same-data": setup_raw_otel_same_data,
    "ours": setup_ours,
    "ours-disabled": setup_ours,  # the harness sets JUDGMENT_MONITORING=false
    "ours-no-content": setup_ours,  # the harness sets JUDGEVAL_CAPTURE_CONTENT=false
    "judgeval-pypi": setup_judgeval_pypi,
    "traceloop": setup_traceloop,
    "openinference": setup_openinference,
}


def measure(work: Callable[[str], str], flush: Callable[[], Any], calls: int, blocks: int) -> list[float]:
    """Per-call nanoseconds of each timed block."""
    per_call: list[float] = []
    clock = time.perf_counter_ns
    for _ in range(blocks):
        start = clock()
        for _ in range(calls):
            work(ARGUMENT)
        per_call.append((clock() - start) / calls)
        flush()
    return per_call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer", choices=sorted(PEERS), required=True)
    parser.add_argument("--endpoint", required=True, help="host:port of the local receiver")
    parser.add_argument("--calls", type=int, default=1000, help="calls per timed block")
    parser.add_argument("--blocks", type=int, default=50)
    parser.add_argument("--warmup-blocks", type=int, default=3)
    args = parser.parse_args()
    work, flush = PEERS[args.peer](args.endpoint)
    measure(work, flush, args.calls, args.warmup_blocks)
    samples = sorted(measure(work, flush, args.calls, args.blocks))
    flush()
    deciles = statistics.quantiles(samples, n=10)
    result = {
        "peer": args.peer,
        "median_ns": statistics.median(samples),
        "p10_ns": deciles[0],
        "p90_ns": deciles[-1],
        "calls": args.calls * (args.blocks + args.warmup_blocks),
        "samples": samples,
        "python": sys.version.split()[0],
    }
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
