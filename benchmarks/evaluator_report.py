"""Markdown tables of the evaluator benchmark results."""

from __future__ import annotations

from typing import Any


def _rate(value: float | None) -> str:
    return f"{value:,.0f}" if value else "n/a"


def _mib(kib: int | None) -> str:
    return f"{kib / 1024:,.0f} MiB" if kib else "n/a"


def _throughput_row(name: str, r: dict[str, Any]) -> str:
    if "error" in r:
        return f"| {name} | failed: {r['error'][:160]} | | | | | |"
    arrived = "yes" if r["all_arrived"] else f"NO ({r['received']:,})"
    statuses = ", ".join(f"{k} {v:,}" for k, v in sorted(r.get("statuses", {}).items()))
    return (f"| {name} | {r['spans']:,} | {_rate(r['intake_spans_per_s'])} | "
            f"{_rate(r['end_to_end_spans_per_s'])} | {r.get('evaluator_cpu_percent', 0):.0f}% | {arrived} | "
            f"{statuses} |")


def render(data: dict[str, Any]) -> str:
    """The evaluator section of the results file."""
    m = data["machine"]
    lines = [f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['ram_gib']} GiB RAM, Python {m['python']}, "
             f"{m['date_utc']}", "", "### Evaluator throughput (real `judgeval-evaluator` process, "
             "OTLP/gRPC in and out, 4 senders)", "",
             "| scenario | spans | accepted spans/s | end-to-end spans/s | evaluator CPU | all arrived | "
             "eval status received |",
             "|---|---:|---:|---:|---:|---|---|"]
    for key, name in (("passthrough", "pass-through (untagged)"), ("keyword", "scored: `keyword` built-in"),
                      ("uploaded", "scored: uploaded scorer (sandboxed workers)")):
        if key in data:
            lines.append(_throughput_row(name, data[key]))
    for r in data.get("judge", []):
        name = (f"scored: LLM judge, 200 ms, concurrency {r['concurrency']} "
                f"(ideal {r['ideal_spans_per_s']:,.0f}/s)")
        lines.append(_throughput_row(name, r))
    floor = data.get("floor")
    if floor:
        rates = "; ".join(f"{k} {v['spans_per_s']:,.0f} spans/s ({v['bytes_per_span']:.0f} B/span)"
                          for k, v in floor.items())
        lines += ["", "Reference floor, same spans in one Python process (parse + add one event and "
                  f"attributes + serialize): {rates}"]
    if data.get("latency"):
        lines += ["", "### Added end-to-end latency (send → received downstream, paced load)", "",
                  "| spans | load | p50 | p99 | max |", "|---|---:|---:|---:|---:|"]
        for r in data["latency"]:
            if "error" in r:
                lines.append(f"| {r['kind']} | failed: {r['error']} | | | |")
                continue
            lines.append(f"| {r['kind']} | {r['rate']:,} spans/s | {r['p50_ms']:.1f} ms | "
                         f"{r['p99_ms']:.1f} ms | {r['max_ms']:.1f} ms |")
    mem = data.get("memory")
    if mem:
        lines += ["", "### Memory with the downstream unavailable", "",
                  f"{mem['queued_spans']:,} spans queued (target {mem['target_spans']:,}) in "
                  f"{mem['fill_s']:.0f} s: RSS idle {_mib(mem['idle_rss_kib'].get('VmRSS'))}, with the spans "
                  f"queued {_mib(mem['full_rss_kib'].get('VmRSS'))} "
                  f"(peak {_mib(mem['full_rss_kib'].get('VmHWM'))}); "
                  f"queue files {mem['queue_file_bytes'] / 1024 / 1024:,.0f} MiB. Downstream back: "
                  f"{'all' if mem['drained'] else 'NOT all'} {mem['received']:,} spans delivered in "
                  f"{mem['drain_s']:.0f} s (includes the forwarder's retry backoff); RSS after drain "
                  f"{_mib(mem['after_drain_rss_kib'].get('VmRSS'))}."]
    return "\n".join(lines) + "\n"
