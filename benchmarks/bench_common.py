"""Shared pieces of the benchmark harnesses: span-counting receivers, subprocess helpers, result files."""

from __future__ import annotations

import gzip
import json
import os
import platform
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from judgeval import semconv
from judgeval.testing import OtlpTraceReceiver
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.trace.v1.trace_pb2 import Span

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
VENVS_DIR = BENCH_DIR / ".venvs"


def span_count(request: trace_service_pb2.ExportTraceServiceRequest) -> int:
    return sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)


def eval_status(span: Span) -> str:
    """The span's ``judgeval.eval.status`` ("untagged" without one), to check that scoring happened."""
    for kv in span.attributes:
        if kv.key == semconv.JUDGEVAL_EVAL_STATUS:
            return str(kv.value.string_value)
    return "untagged"


class TimedReceiver(OtlpTraceReceiver):
    """The project's OTLP/gRPC test receiver, also noting when each span arrived (for latency).

    ``keep_requests=False`` counts spans without keeping them, for runs of a million spans.
    """

    def __init__(self, keep_requests: bool = True) -> None:
        super().__init__()
        self.keep_requests = keep_requests
        self.count = 0
        self.arrivals: dict[bytes, float] = {}
        self.track_arrivals = False
        self.statuses: Counter[str] = Counter()

    def _add(self, request: trace_service_pb2.ExportTraceServiceRequest) -> None:
        now = time.perf_counter()
        statuses: Counter[str] = Counter()
        for rs in request.resource_spans:
            for ss in rs.scope_spans:
                for span in ss.spans:
                    if self.track_arrivals:
                        self.arrivals[span.span_id] = now
                    statuses[eval_status(span)] += 1
        with self._cond:
            self.count += span_count(request)
            self.statuses.update(statuses)
            if self.keep_requests:
                self.requests.append(request)
            self._cond.notify_all()

    def start(self) -> TimedReceiver:
        super().start()
        return self

    def wait_count(self, target: int, timeout: float) -> bool:
        """Wait until ``target`` spans arrived; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.count < target:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.5))
        return True

    def reset(self) -> None:
        with self._cond:
            self.count = 0
            self.requests.clear()
            self.arrivals.clear()
            self.statuses.clear()


class JudgmentApiStandIn:
    """Local stand-in for the two Judgment API calls the PyPI ``judgeval`` SDK makes while tracing.

    It resolves any project name to one id, and accepts OTLP/HTTP protobuf exports on
    ``/otel/v1/traces``, counting the spans, so that SDK runs its own processor and exporter unchanged.
    """

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self._httpd.server_address[1]}"

    def start(self) -> JudgmentApiStandIn:
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                if self.path.rstrip("/").endswith("/otel/v1/traces"):
                    request = trace_service_pb2.ExportTraceServiceRequest.FromString(body)
                    with stand_in._lock:
                        stand_in.count += span_count(request)
                    reply = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
                    self._send(reply, "application/x-protobuf")
                else:
                    self._send(json.dumps({"project_id": "bench-project"}).encode(), "application/json")

            def _send(self, payload: bytes, content_type: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler


def peer_python(venv: str | None) -> str:
    """The interpreter of a peer's venv under ``benchmarks/.venvs``; ``None`` means this interpreter."""
    if venv is None:
        return sys.executable
    return str(VENVS_DIR / venv / "bin" / "python")


def run_result(
    argv: Sequence[str], env: dict[str, str] | None = None, timeout: float = 900
) -> dict[str, Any]:
    """Run a workload process and parse its ``RESULT {json}`` line; errors become ``{"error": ...}``."""
    full_env = {**os.environ, **(env or {})}
    try:
        done = subprocess.run(
            list(argv), env=full_env, capture_output=True, text=True, timeout=timeout, cwd=BENCH_DIR
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout}s"}
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[len("RESULT "):])
            return result
    tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
    return {"error": f"exit {done.returncode}: " + " | ".join(tail)}


def machine() -> dict[str, Any]:
    """Machine facts for the results table."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem_kb = next(
            int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
    except (OSError, StopIteration):
        mem_kb = 0
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "ram_gib": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "date_utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def write_results(name: str, data: dict[str, Any], markdown: str) -> Path:
    """Write ``results/<name>.json`` and ``results/<name>.md``; returns the markdown path."""
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / f"{name}.json").write_text(json.dumps(data, indent=2) + "\n")
    path = RESULTS_DIR / f"{name}.md"
    path.write_text(markdown)
    return path


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a live process (all its threads) has used, from ``/proc/<pid>/stat``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> dict[str, int]:
    """Current and peak resident set size of a live process, from ``/proc/<pid>/status``."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            key, value = line.split(":", 1)
            out[key] = int(value.split()[0])
    return out
