"""Agent-side benchmarks: per-call overhead vs peers, ``async_evaluate`` cost, sustained 10k spans/s.

Runs in the project's venv. It owns the receivers (the project's OTLP/gRPC ``OtlpTraceReceiver`` and,
for PyPI ``judgeval``, a stand-in of its HTTP API) and starts each workload as a separate process in
that peer's venv, so the receiver never competes for the workload's interpreter lock. Writes
``results/agent.json`` and ``results/agent.md``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from typing import Any

from bench_common import (
    BENCH_DIR,
    JudgmentApiStandIn,
    TimedReceiver,
    machine,
    peer_python,
    run_result,
    write_results,
)

# peer -> venv under benchmarks/.venvs (None: the project's own venv)
PEER_VENVS: dict[str, str | None] = {
    "undecorated": None,
    "ours-disabled": None,
    "raw-otel": None,
    "raw-otel-same-data": None,
    "ours": None,
    "ours-no-content": None,
    "judgeval-pypi": "judgeval-pypi",
    "traceloop": "traceloop",
    "openinference": "openinference",
}

# peer -> extra environment of its workload process
PEER_ENV: dict[str, dict[str, str]] = {
    "ours-disabled": {"JUDGMENT_MONITORING": "false"},
    "ours-no-content": {"JUDGEVAL_CAPTURE_CONTENT": "false"},
}

BSP_VARIANTS: dict[str, dict[str, str]] = {
    # The SDK's defaults spelled out: unset, judgeval's own provider now defaults to 8192 / 1000 ms.
    "sdk defaults (2048 / 512 / 5000 ms)": {
        "OTEL_BSP_MAX_QUEUE_SIZE": "2048", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "512",
        "OTEL_BSP_SCHEDULE_DELAY": "5000",
    },
    "judgeval defaults, no OTEL_BSP_* (8192 / 512 / 1000 ms)": {},
    "queue 16384 / batch 512 / 1000 ms": {
        "OTEL_BSP_MAX_QUEUE_SIZE": "16384", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "512",
        "OTEL_BSP_SCHEDULE_DELAY": "1000",
    },
    "queue 16384 / batch 2048 / 1000 ms": {
        "OTEL_BSP_MAX_QUEUE_SIZE": "16384", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "2048",
        "OTEL_BSP_SCHEDULE_DELAY": "1000",
    },
}


def overhead(receiver: TimedReceiver, api: JudgmentApiStandIn, calls: int, blocks: int,
             rounds: int) -> dict[str, Any]:
    """Each peer in its own process, the peers interleaved over ``rounds`` rounds so that drifting
    machine load hits all of them alike; block samples are pooled per peer."""
    pooled: dict[str, list[float]] = {peer: [] for peer in PEER_VENVS}
    results: dict[str, Any] = {}
    for _ in range(rounds):
        for peer in PEER_VENVS:
            result = _run_peer(peer, receiver, api, calls, max(2, blocks // rounds))
            if "error" in result:
                results[peer] = result
                continue
            pooled[peer] += result.pop("samples")
            previous = results.get(peer, {})
            result["calls"] += previous.get("calls", 0)
            result["spans_received"] += previous.get("spans_received", 0)
            results[peer] = result
    for peer, samples in pooled.items():
        if samples and "error" not in results[peer]:
            deciles = statistics.quantiles(sorted(samples), n=10)
            results[peer].update(median_ns=statistics.median(samples), p10_ns=deciles[0], p90_ns=deciles[-1],
                                 blocks=len(samples))
        print(f"  {peer}: {results[peer]}", file=sys.stderr, flush=True)
    return results


def _run_peer(peer: str, receiver: TimedReceiver, api: JudgmentApiStandIn, calls: int,
              blocks: int) -> dict[str, Any]:
    receiver.reset()
    before_api = api.count
    endpoint = api.endpoint if peer == "judgeval-pypi" else receiver.endpoint
    argv = [peer_python(PEER_VENVS[peer]), str(BENCH_DIR / "agent_workload.py"), "--peer", peer,
            "--endpoint", endpoint, "--calls", str(calls), "--blocks", str(blocks)]
    result = run_result(argv, PEER_ENV.get(peer, {}))
    result["spans_received"] = api.count - before_api if peer == "judgeval-pypi" else receiver.count
    return result


def evaluate(receiver: TimedReceiver, spans: int) -> dict[str, Any]:
    receiver.reset()
    argv = [sys.executable, str(BENCH_DIR / "agent_ours.py"), "evaluate",
            "--endpoint", receiver.endpoint, "--spans", str(spans)]
    result = run_result(argv)
    result["spans_received"] = receiver.count
    print(f"  async_evaluate: {result}", file=sys.stderr, flush=True)
    return result


def sustained(receiver: TimedReceiver, rate: int, seconds: float, variants: list[str]) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name in variants:
        receiver.reset()
        argv = [sys.executable, str(BENCH_DIR / "agent_ours.py"), "sustained",
                "--endpoint", receiver.endpoint, "--rate", str(rate), "--seconds", str(seconds)]
        result = run_result(argv, BSP_VARIANTS[name], timeout=seconds * 4 + 120)
        produced = result.get("produced", 0)
        receiver.wait_count(produced, 10)
        result["received"] = receiver.count
        result["all_arrived"] = produced > 0 and receiver.count == produced
        results[name] = result
        print(f"  sustained [{name}]: {result}", file=sys.stderr, flush=True)
    return results


def _ratio(results: dict[str, Any], peer: str, base: str) -> str:
    a, b = results.get(peer, {}).get("median_ns"), results.get(base, {}).get("median_ns")
    if not (a and b):
        return "n/a"
    return f"{a / b:.2f}x" if a / b >= 0.01 else "—"


def render(data: dict[str, Any]) -> str:
    m = data["machine"]
    lines = [f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['ram_gib']} GiB RAM, Python {m['python']}, "
             f"{m['date_utc']}"]
    over = data.get("overhead", {})
    if over:
        lines += ["", "### Per-call overhead (trivial function, OTLP/gRPC export, batch processor)", "",
                  "| decorator | median ns/call | p10 | p90 | vs raw OTel | vs PyPI judgeval | "
                  "spans received / made |", "|---|---:|---:|---:|---:|---:|---:|"]
    for peer, r in over.items():
        if "error" in r:
            lines.append(f"| {peer} | failed: {r['error'][:160]} | | | | | |")
            continue
        made = r["calls"] if peer not in ("undecorated", "ours-disabled") else 0
        lines.append(f"| {peer} | {r['median_ns']:,.0f} | {r['p10_ns']:,.0f} | {r['p90_ns']:,.0f} | "
                     f"{_ratio(over, peer, 'raw-otel')} | {_ratio(over, peer, 'judgeval-pypi')} | "
                     f"{r['spans_received']:,} / {made:,} |")
    if "ours-disabled" in over and "undecorated" in over:
        ratio = _ratio(over, "ours-disabled", "undecorated")
        lines += ["", f"`JUDGMENT_MONITORING=false` vs undecorated: {ratio}"]
    ev = data.get("evaluate")
    if ev and "error" not in ev:
        lines += ["", "### async_evaluate on the caller's thread (server_hosted scorer, inside a span)", "",
                  "| sampling_rate | median | p99 |", "|---|---:|---:|"]
        for rate in ("0.0", "1.0"):
            r = ev[f"rate_{rate}"]
            lines.append(f"| {rate} | {r['median_ns'] / 1000:.2f} µs | {r['p99_ns'] / 1000:.2f} µs |")
        lines.append(f"\n(timer cost {ev['timer_ns']:.0f} ns subtracted; {ev['spans_received']:,} of "
                     f"{ev['spans']:,} spans received)")
    elif ev:
        lines += ["", f"async_evaluate: failed: {ev['error']}"]
    for key, rate_key, seconds_key in (("sustained", "sustained_rate", "sustained_seconds"),
                                       ("stress", "stress_rate", "stress_seconds")):
        if data.get(key):
            lines += _sustained_table(data[key], data[rate_key], data[seconds_key])
    return "\n".join(lines) + "\n"


def _sustained_table(runs: dict[str, Any], rate: int, seconds: float) -> list[str]:
    lines = ["", f"### Sustained {rate:,} spans/s for {seconds:.0f} s (one process, `@observe`)", "",
             "| BSP settings | produced | achieved spans/s | received | all arrived |",
             "|---|---:|---:|---:|---|"]
    for name, r in runs.items():
        if "error" in r:
            lines.append(f"| {name} | failed: {r['error'][:160]} | | | |")
            continue
        lines.append(f"| {name} | {r['produced']:,} | {r['achieved_rate']:,.0f} | {r['received']:,} | "
                     f"{'yes' if r['all_arrived'] else 'NO'} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000, help="calls per timed block")
    parser.add_argument("--blocks", type=int, default=60, help="timed blocks per peer (over all rounds)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds over the peers")
    parser.add_argument("--evaluate-spans", type=int, default=20000)
    parser.add_argument("--rate", type=int, default=10000, help="sustained spans/s")
    parser.add_argument("--seconds", type=float, default=10.0, help="sustained duration")
    parser.add_argument("--stress-rate", type=int, default=20000, help="second sustained run, above target")
    parser.add_argument("--stress-seconds", type=float, default=10.0)
    parser.add_argument("--only", choices=("overhead", "evaluate", "sustained", "stress"), action="append")
    parser.add_argument("--bsp", choices=sorted(BSP_VARIANTS), action="append",
                        help="sustained: BSP variants to run (default all)")
    args = parser.parse_args()
    parts = args.only or ["overhead", "evaluate", "sustained", "stress"]
    data: dict[str, Any] = {"machine": machine(), "sustained_rate": args.rate,
                            "sustained_seconds": args.seconds,
                            "stress_rate": args.stress_rate, "stress_seconds": args.stress_seconds}
    receiver = TimedReceiver(keep_requests=False).start()
    api = JudgmentApiStandIn().start()
    try:
        if "overhead" in parts:
            data["overhead"] = overhead(receiver, api, args.calls, args.blocks, args.rounds)
        if "evaluate" in parts:
            data["evaluate"] = evaluate(receiver, args.evaluate_spans)
        if "sustained" in parts:
            data["sustained"] = sustained(receiver, args.rate, args.seconds, args.bsp or list(BSP_VARIANTS))
        if "stress" in parts:
            data["stress"] = sustained(receiver, args.stress_rate, args.stress_seconds,
                                       args.bsp or list(BSP_VARIANTS))
    finally:
        api.stop()
        receiver.stop()
    path = write_results("agent", data, render(data))
    print(path.read_text())


if __name__ == "__main__":
    main()
