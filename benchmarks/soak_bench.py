"""Soak under faults: sustained load on the real ``judgeval-evaluator`` while it is restarted (SIGTERM and
SIGKILL in turn), the downstream goes away and comes back, and a poison span arrives every few seconds.

At the end faults stop and every span the evaluator acknowledged must reach the downstream: the report
counts spans acknowledged, delivered, lost, duplicated (at-least-once resends after SIGKILL), left
pending, the poison spans' outcome, and the evaluator's RSS per lifetime (flat = no leak).

    .venv/bin/python benchmarks/soak_bench.py --seconds 60      # writes results/soak.{json,md}
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import grpc
from bench_common import machine, rss_kib, write_results
from evaluator_process import EXPORT_METHOD, LISTENING, evaluator_command
from judgeval import semconv
from judgeval.protocol.evaluation_request import EvaluationRequest, ScorerRef, encode_requests
from judgeval.protocol.otlp_values import to_any_value
from judgeval.testing import OtlpTraceReceiver
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

POISONS = {  # request payloads a scorer can never use; each must come out marked failed, blocking nothing
    "malformed_json": "[{not json",
    "unknown_scorer": encode_requests([EvaluationRequest(ScorerRef(name="no_such_scorer"), {})]),
    "deep_json": "[" * 3000 + "]" * 3000,
    "huge_threshold": '[{"scorer": {"name": "regex", "threshold": 1' + "0" * 5000 + '}, "example": {}}]',
}
TAGGED = encode_requests([EvaluationRequest(ScorerRef(name="regex", config={"pattern": "ok"}),
                                            {"actual_output": "ok"})])


class CountingReceiver(OtlpTraceReceiver):
    """Downstream that counts each span id it receives and keeps its final status."""

    def __init__(self) -> None:
        super().__init__()
        self.copies: Counter[bytes] = Counter()
        self.status: dict[bytes, str] = {}

    def _add(self, request: trace_service_pb2.ExportTraceServiceRequest) -> None:
        with self._cond:
            for rs in request.resource_spans:
                for ss in rs.scope_spans:
                    for span in ss.spans:
                        self.copies[span.span_id] += 1
                        self.status[span.span_id] = next(
                            (kv.value.string_value for kv in span.attributes
                             if kv.key == semconv.JUDGEVAL_EVAL_STATUS), "untagged")
            self._cond.notify_all()


class Evaluator:
    """The evaluator subprocess on one data dir, restartable; RSS peaks are kept per lifetime."""

    def __init__(self, root: Path, downstream: str) -> None:
        self.root = root
        (root / "evaluator.yaml").write_text(json.dumps({
            "export": {"backoff_initial_s": 0.1, "backoff_max_s": 1.0},
            "queue": {"max_spans": 200_000}}))
        self.downstream = downstream
        self.endpoint = ""
        self.process: subprocess.Popen[str] | None = None
        self.peaks_kib: list[int] = []

    def start(self) -> None:
        argv = [*evaluator_command(), "--listen", "127.0.0.1:0", "--export-endpoint", self.downstream,
                "--data-dir", str(self.root / "data"), "--config", str(self.root / "evaluator.yaml"),
                "--log-level", "ERROR", "--shutdown-grace", "2"]
        log = (self.root / "stderr.log").open("a")
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith(LISTENING):
            raise RuntimeError(f"evaluator did not start: {line!r}; see {self.root / 'stderr.log'}")
        self.endpoint = line[len(LISTENING):].strip()
        self.peaks_kib.append(0)

    def sample(self) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(OSError):  # it exited between the two calls
                self.peaks_kib[-1] = max(self.peaks_kib[-1], rss_kib(self.process.pid).get("VmRSS", 0))

    def stop(self, kill: bool) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        self.process.wait(60)


def make_request(first_id: int, spans: int, poison: str | None) -> tuple[bytes, list[bytes]]:
    scope = ScopeSpans()
    ids = []
    for n in range(first_id, first_id + spans):
        span_id = n.to_bytes(8, "big")
        span = Span(trace_id=(n | 1 << 90).to_bytes(16, "big"), span_id=span_id, name="soak",
                    start_time_unix_nano=1, end_time_unix_nano=2)
        payload = poison if (poison and n == first_id) else (TAGGED if n % 5 == 0 else None)
        if payload is not None:
            span.attributes.extend([
                KeyValue(key=semconv.JUDGEVAL_EVAL_STATUS, value=to_any_value("pending")),
                KeyValue(key=semconv.JUDGEVAL_EVAL_REQUESTS, value=to_any_value(payload))])
        scope.spans.append(span)
        ids.append(span_id)
    request = trace_service_pb2.ExportTraceServiceRequest(resource_spans=[ResourceSpans(scope_spans=[scope])])
    return request.SerializeToString(), ids


def run(seconds: float, rate: int, restart_every: float, outage_every: float, poison_every: float,
        drain_timeout: float, poison_kinds: list[str]) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="judgeval-soak-"))
    receiver = CountingReceiver().start()
    evaluator = Evaluator(root, receiver.endpoint)
    evaluator.start()
    acked: set[bytes] = set()
    poisons: dict[bytes, str] = {}
    refused = Counter[str]()
    stop = threading.Event()
    batch = 50

    def load() -> None:
        next_id, kinds, last_poison = 1, poison_kinds, time.monotonic()
        interval = batch / rate
        while not stop.is_set():
            poison = None
            if kinds and time.monotonic() - last_poison >= poison_every:
                poison, last_poison = kinds[len(poisons) % len(kinds)], time.monotonic()
            payload, ids = make_request(next_id, batch, POISONS[poison] if poison else None)
            while not stop.is_set():  # a refused or failed export is retried, as a collector does
                try:
                    with grpc.insecure_channel(evaluator.endpoint) as channel:
                        channel.unary_unary(EXPORT_METHOD)(payload, timeout=10)
                    acked.update(ids)
                    if poison:
                        poisons[ids[0]] = poison
                    break
                except grpc.RpcError as exc:
                    refused[exc.code().name] += 1  # type: ignore[attr-defined]
                    time.sleep(0.2)
            next_id += batch
            time.sleep(interval)

    sender = threading.Thread(target=load, daemon=True)
    sender.start()
    start = time.monotonic()
    events: list[str] = []
    next_restart, next_outage, kill = start + restart_every, start + outage_every, False
    while time.monotonic() - start < seconds:
        evaluator.sample()
        now = time.monotonic()
        if now >= next_restart:
            evaluator.stop(kill)
            events.append(f"{now - start:.0f}s {'SIGKILL' if kill else 'SIGTERM'} + restart")
            evaluator.start()
            kill, next_restart = not kill, now + restart_every
        if now >= next_outage:
            receiver.unavailable = True
            events.append(f"{now - start:.0f}s downstream down 5s")
            time.sleep(5)
            receiver.unavailable = False
            next_outage = time.monotonic() + outage_every
        time.sleep(0.5)
    stop.set()
    sender.join()
    drain_start = time.monotonic()
    drained = True
    try:
        receiver.wait_for(lambda _: acked <= set(receiver.copies), drain_timeout)
    except TimeoutError:  # reported as lost or stuck below
        drained = False
    drained_s = time.monotonic() - drain_start
    evaluator.sample()
    evaluator.stop(kill=False)
    receiver.stop()
    statuses = Counter(receiver.status.get(i, "missing") for i in acked)
    return {
        "machine": machine(), "seconds": seconds, "poison_kinds": poison_kinds, "rate_spans_per_s": rate,
        "events": events,
        "acknowledged": len(acked), "delivered": len(acked & set(receiver.copies)),
        "lost": len(acked - set(receiver.copies)),
        "resent_copies": sum(c - 1 for c in receiver.copies.values() if c > 1),
        "left_pending": statuses.get("pending", 0), "statuses": dict(statuses),
        "poison": dict(Counter(f"{kind} {receiver.status.get(i, 'missing')}" for i, kind in poisons.items())),
        "refused_exports": dict(refused), "drained_after_s": round(drained_s, 1) if drained else None,
        "rss_peak_mib_per_lifetime": [round(k / 1024, 1) for k in evaluator.peaks_kib],
    }


def render(r: dict[str, Any]) -> str:
    m = r["machine"]
    return "\n".join([
        f"Soak under faults, {r['seconds']:.0f} s at {r['rate_spans_per_s']} spans/s "
        f"({m['nproc']} CPU {m['cpu']}, {m['ram_gib']} GiB, Python {m['python']}, {m['date_utc']})", "",
        "| measure | value |", "|---|---|",
        f"| spans acknowledged by the evaluator | {r['acknowledged']:,} |",
        "| delivered downstream / not delivered (lost or stuck in the queue) | "
        f"{r['delivered']:,} / {r['lost']:,} |",
        f"| extra copies (at-least-once resends after SIGKILL) | {r['resent_copies']:,} |",
        f"| delivered still marked pending | {r['left_pending']:,} |",
        f"| poison kinds sent in turn | {', '.join(r['poison_kinds']) or 'none'} |",
        f"| poison spans: kind status: count | "
        f"{', '.join(f'{k}: {v}' for k, v in sorted(r['poison'].items())) or 'none'} |",
        f"| exports refused and retried (by code) | {r['refused_exports'] or 'none'} |",
        f"| drained after faults stopped | "
        f"{'not within the timeout' if r['drained_after_s'] is None else str(r['drained_after_s']) + ' s'} |",
        f"| evaluator RSS peak per lifetime (MiB) | {r['rss_peak_mib_per_lifetime']} |",
        f"| faults | {'; '.join(r['events'])} |", ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--rate", type=int, default=2000, help="spans per second offered")
    parser.add_argument("--restart-every", type=float, default=15)
    parser.add_argument("--outage-every", type=float, default=20)
    parser.add_argument("--poison-every", type=float, default=3)
    parser.add_argument("--drain-timeout", type=float, default=120)
    parser.add_argument("--poison", action="append", choices=sorted(POISONS),
                        help="poison kinds to send in turn (repeatable; default: all)")
    args = parser.parse_args()
    os.chdir(Path(__file__).resolve().parent)
    result = run(args.seconds, args.rate, args.restart_every, args.outage_every, args.poison_every,
                 args.drain_timeout, args.poison or sorted(POISONS))
    path = write_results("soak", result, render(result))
    print(path.read_text())


if __name__ == "__main__":
    main()
