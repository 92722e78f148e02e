"""A real evaluator with the console on, fed by the real pipeline: tagged spans of two services and two
agents exported over OTLP/gRPC, scored by deterministic scorers, grouped into behaviors, judged by an
alert that notifies a real webhook receiver; one uploaded scorer version stored the way the admin API
stores it. Shared by the HTTP and the browser tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from judgeval import semconv
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from evaluator_service.alerts.manager import AlertManager
from evaluator_service.app import EvaluatorApp
from evaluator_service.config import EvaluatorConfig
from evaluator_service.state.scorer_versions import ScorerFiles, StoredScorer
from tests.alerts.webhook_receiver import WebhookReceiver
from tests.behaviors.failing_spans import PII, REFUND, SCORERS
from tests.support.evaluator import export, wait_for
from tests.support.spans import make_request, make_span, tagged_attributes

ADMIN_KEY = "console-admin-key-0123"
READ_KEY = "console-read-key-4567"
TRACE_URL = "http://jaeger.test:16686/trace/{trace_id}?uiFind={span_id}"
ALERT = "refunds-missing"
UPLOADED = "Package Inquiry Scorer"
UNKNOWN = "no_such_scorer"
"""A scorer the evaluator does not have: its span is not evaluated (reason ``unknown_scorer``)."""
UPLOADED_SOURCE = ('from judgeval.scorers import ExampleScorer\n\n'
                   'class PackageScorer(ExampleScorer):\n'
                   '    """Flags answers with <script>alert(1)</script> & friends."""\n')


@dataclass
class FedEvaluator:
    """The running evaluator, its console's base URL, and what was fed to it."""

    app: EvaluatorApp
    base_url: str
    traces: dict[str, str]
    """Span name → trace id (hex) of every exported span."""
    hook: WebhookReceiver


def console_doc(hook: WebhookReceiver, **console: Any) -> dict[str, Any]:
    return {
        "api_key": ADMIN_KEY,
        "scorers": SCORERS,
        "channels": {"hook": {"type": "webhook", "url": hook.url}},
        "alerts": [{"name": ALERT, "scorer": REFUND, "failure_rate_above": 0.5, "window": "1m",
                    "min_count": 2, "notify": ["hook"]}],
        "console": {"listen": "127.0.0.1:0", "read_only_key": READ_KEY, "trace_url": TRACE_URL, **console},
        # flushed by the test itself (ConsoleRecorder.flush), so the pages show everything at once
        "console_data": {"flush_interval_s": 3600},
    }


def _span(name: str, scorer: str, input_text: str, output: str, agent: str) -> Span:
    attributes = tagged_attributes((scorer, {"input": input_text, "actual_output": output}))
    attributes[semconv.GEN_AI_AGENT_NAME] = agent
    return make_span(name, attributes)


def traffic() -> dict[str, list[Span]]:
    """Spans per service: refund failures and passes from two agents, PII leaks from one."""
    support = [_span(f"no-refund-{n}", REFUND, "My order is late, I want my money back",
                     f"Sorry, your order is delayed, we cannot do anything (ticket {n})", "triage-agent")
               for n in range(3)]
    support += [_span(f"ok-{n}", REFUND, "My order is late", f"We issued a refund for order {n}",
                      "refund-agent") for n in range(2)]
    accounts = [_span(f"pii-{n}", PII, "Who handles my account?",
                      f"Your account manager is manager{n}@example.com <b>call</b>", "accounts-agent")
                for n in range(2)]
    accounts.append(_span("unknown-0", UNKNOWN, "Where is my parcel?", "On its way", "accounts-agent"))
    return {"support-bot": support, "accounts-bot": accounts}


@asynccontextmanager
async def fed_evaluator(make_config: Callable[..., EvaluatorConfig], receiver: Any, hook: WebhookReceiver,
                        state_db: str | None = None, **console: Any) -> AsyncIterator[FedEvaluator]:
    doc = console_doc(hook, **console)
    if state_db:
        doc["state_db"] = state_db
    config = make_config(doc)
    alerts = AlertManager(config.alerts, settings=config.alerting, channel_configs=config.channels,
                          tick_s=0.1)
    app = EvaluatorApp(config, alerts=alerts)
    await app.start()
    try:
        traces: dict[str, str] = {}
        spans = traffic()
        for service, batch in spans.items():
            await export(app, make_request(batch, service=service))
            traces.update({s.name: s.trace_id.hex() for s in batch})
        total = sum(len(b) for b in spans.values())
        await wait_for(receiver, lambda got: sum(
            1 for s in got if semconv.JUDGEVAL_EVAL_STATUS in s.attributes) >= total)
        await asyncio.to_thread(hook.wait_for, 1, "firing")
        state = app._state
        assert state is not None
        for _ in range(200):  # the firing transition is written by the alert tick (every 0.1 s)
            if await state.alert_history(ALERT, 1):
                break
            await asyncio.sleep(0.05)
        draft = StoredScorer(name=UPLOADED, version=0, sha256="0" * 64, created_at=0.0,
                             class_name="PackageScorer", source_filename="package_scorer.py",
                             requirements_hash="")
        await state.store_version(draft, ScorerFiles(UPLOADED_SOURCE, "requests>=2\n"), lambda _: 1)
        recorder = app.console_recorder
        assert recorder is not None and await recorder.flush()
        assert app.console is not None
        yield FedEvaluator(app, f"http://127.0.0.1:{app.console.port}", traces, hook)
    finally:
        await app.stop(grace=2.0)
