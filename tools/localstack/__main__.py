"""``scripts/run-stack``: the whole monitoring loop on this machine, with the docs' example agents.

See :data:`DESCRIPTION` (what ``--help`` prints) for what it does; :mod:`tools.localstack.modes` runs the
two set-ups, :mod:`tools.localstack.ports` picks and reports the ports.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from judgeval.testing import RecordedOpenAIServer

from tools.localstack.binaries import BinariesUnavailable, OtelBinaries, OtelBuild, cached_otel_binaries
from tools.localstack.modes import run_collector_less, run_full
from tools.localstack.ports import WantedPorts
from tools.localstack.runner import StackEnv

DESCRIPTION = """\
The whole monitoring loop on this machine, with the docs' example agents.

It starts Jaeger v2 (in-memory), the OpenTelemetry Collector with collector-config/otelcol-jaeger.yaml
and the evaluator; uploads the docs' PackageInquiryScorer with the real `judgeval upload_scorer` CLI;
runs the docs' customer-service and multi-agent examples; and prints the score and the Jaeger URL of
the scored trace, then the URL of the evaluator's web console, the stack's key to log in with, and the
line that points the `judgeval` CLI at the stack's evaluator.

Ports: the collector takes the standard OTLP ports 4317 (gRPC) and 4318 (HTTP) and Jaeger's UI 16686
when they are free, so `opentelemetry-instrument python app.py` reaches the stack with no setting; the
console takes 8080. A taken port is replaced by a free one, and the run says which and what to set.

First run: while scripts/otel-binaries builds the collector and Jaeger (minutes, once), a collector-less
run (agents -> evaluator -> a JSON-lines file) prints a first scored result; the full stack follows
when the build is done. Without Go it runs collector-less only.

Without OPENAI_API_KEY a local server with recorded answers stands in for OpenAI and the judge.
"""


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.config is not None and not args.config.is_file():
        parser.error(f"--config {args.config}: no such file")
    keep = sys.stdin.isatty() if args.keep_running is None else args.keep_running
    temporary = args.work_dir is None
    work_dir = Path(tempfile.mkdtemp(prefix="judgeval-stack-")) if temporary else args.work_dir
    removed = " (removed at the end unless the run fails)" if temporary else ""
    print(f"==> work dir (logs, data): {work_dir}{removed}", flush=True)
    ok = False
    for stop in (signal.SIGTERM, signal.SIGHUP):  # `kill`, a closed terminal: the same clean stop as Ctrl-C
        signal.signal(stop, _interrupt)
    try:
        ok = _run(args, work_dir, keep)
    except KeyboardInterrupt:
        print("\n==> interrupted", flush=True)
        ok = True  # nothing failed: the logs are not worth keeping
    except RuntimeError as exc:  # a step failed (StackError, ProcessFailed, a failed build): one message
        print(f"!!  {exc}", flush=True)
    if not ok:
        print(f"!!  the run failed; logs are in {work_dir}", flush=True)
    elif temporary:
        shutil.rmtree(work_dir, ignore_errors=True)
    return 0 if ok else 1


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM/SIGHUP stop the stack like Ctrl-C: every process it started is stopped, none is left behind
    on the ports."""
    raise KeyboardInterrupt


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scripts/run-stack", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work-dir", type=Path, metavar="DIR",
                        help="keep logs and data here (default: a temporary directory, removed at the end "
                             "unless the run fails)")
    parser.add_argument("--config", type=Path, metavar="FILE",
                        help="the evaluator's YAML configuration (see evaluator_service/default_config.yaml)")
    parser.add_argument("--ports", choices=("standard", "random"), default="standard",
                        help="standard: 4317/4318/16686 when free, else free ports (default); random: free "
                             "ports only")
    parser.add_argument("--no-collector", action="store_true", help="run collector-less even if Go exists")
    parser.add_argument("--keep-running", action=argparse.BooleanOptionalAction, default=None,
                        help="keep the stack up until Ctrl-C (default: only when stdin is a terminal)")
    return parser


def _run(args: argparse.Namespace, work_dir: Path, keep: bool) -> bool:
    ports = WantedPorts.named(args.ports)
    evaluator_args = ("--config", str(args.config.resolve())) if args.config else ()
    with contextlib.ExitStack() as stack:
        env = StackEnv(work_dir, secrets.token_urlsafe(24), stack.enter_context(_llm()))
        binaries, build = (None, None) if args.no_collector else _binaries_or_build(stack, work_dir)
        if binaries is None and build is not None:
            print("==> the collector and Jaeger are not built yet: building them in the background "
                  f"(progress in {build.log_path}); meanwhile, collector-less:", flush=True)
            with contextlib.ExitStack() as first:
                if not run_collector_less(first, env, ports, evaluator_args):
                    return False
            print("==> collector-less run done; waiting for the collector and Jaeger build", flush=True)
            binaries = build.wait(lambda line: print(f"    {line}", flush=True))
        if binaries is None:
            ok = run_collector_less(stack, env, ports, evaluator_args)
        else:
            ok = run_full(stack, env, binaries, ports, evaluator_args)
        if ok:
            _stay_up_or_say_stopped(keep, binaries is not None, work_dir if args.work_dir else None)
    return ok


def _binaries_or_build(
    stack: contextlib.ExitStack, work_dir: Path
) -> tuple[OtelBinaries | None, OtelBuild | None]:
    """Cached binaries at once; else a background build (stopped if the run ends first); else neither."""
    try:
        binaries = cached_otel_binaries()
    except BinariesUnavailable as exc:
        print(f"==> {exc}\n==> continuing collector-less: agents -> evaluator -> file", flush=True)
        return None, None
    if binaries is not None:
        return binaries, None
    build = OtelBuild(work_dir / "otel-binaries.log")
    stack.callback(build.stop)
    return None, build


@contextlib.contextmanager
def _llm() -> Iterator[dict[str, str]]:
    if os.environ.get("OPENAI_API_KEY"):
        print("==> LLM: the real OpenAI API (OPENAI_API_KEY is set)", flush=True)
        yield {}
        return
    with RecordedOpenAIServer() as server:
        print(f"==> LLM: local recorded OpenAI-compatible server at {server.base_url}", flush=True)
        yield {"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "local-recordings"}


def _stay_up_or_say_stopped(keep: bool, full: bool, kept_dir: Path | None) -> None:
    if keep:
        print("==> the stack stays up; press Ctrl-C to stop it", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()
        return
    if full:
        what = "the Jaeger and console URLs above no longer answer"
    elif kept_dir:
        what = f"the console URL above no longer answers; the spans file stays in {kept_dir}"
    else:
        what = ("the console URL above no longer answers; the spans file goes with the temporary work dir "
                "(keep it with --work-dir DIR)")
    print(f"==> the stack stops now (no terminal, or --no-keep-running): {what}; "
          "run scripts/run-stack --keep-running to browse the traces and the console", flush=True)


if __name__ == "__main__":
    sys.exit(main())
