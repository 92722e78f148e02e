"""Score metrics reach Prometheus through the shipped collector config, with no pipeline written by hand:
a real evaluator scores spans and exports its metrics over OTLP to the real collector, whose Prometheus
exporter serves them (OpenMetrics, with exemplars) to a scrape over HTTP.

traffic ──▶ collector ──▶ evaluator (scores) ──OTLP metrics──▶ collector ──▶ GET /metrics (as Prometheus)

The SDK sends an exemplar with the export that follows its measurement only (exemplars describe one
collection interval), and the exporter serves it until the next export replaces the data point: Prometheus,
scraping more often than the evaluator exports (60 s by default), stores it. The test scrapes the same way
and keeps every exemplar it saw.
"""

from __future__ import annotations

import urllib.request
from dataclasses import replace

import pytest
from judgeval import semconv
from prometheus_client.openmetrics.parser import text_string_to_metric_families
from prometheus_client.samples import Exemplar, Sample

from tests.support.polling import eventually
from tools.localstack.binaries import OtelBinaries
from tools.localstack.procs import free_endpoint
from tools.localstack.runner import StackEnv, start_evaluator
from tools.localstack.stack import JaegerInstance, start_collector

from .traffic import SERVICE, Traffic, fetch_all

OUTCOMES = "judgeval_evaluator_score_outcomes"
"""``judgeval.evaluator.score.outcomes`` as the collector's Prometheus exporter names it (+ ``_total``)."""
EXPORT_INTERVAL_MS = "3000"
OPENMETRICS = "application/openmetrics-text; version=1.0.0"


def scrape(url: str) -> list[Sample]:
    """One scrape as Prometheus does it, asking for OpenMetrics (the format that carries exemplars)."""
    request = urllib.request.Request(url, headers={"Accept": OPENMETRICS})
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.headers["Content-Type"].startswith("application/openmetrics-text")
        text = answer.read().decode()
    return [sample for family in text_string_to_metric_families(text) for sample in family.samples]


class OutcomeScrapes:
    """Scrapes the ``pii`` outcome counters, keeping the exemplars seen on the way (as Prometheus does)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.exemplars: dict[str, Exemplar] = {}
        self.last: list[Sample] = []
        self.names: set[str] = set()

    def complete(self) -> bool:
        """Both scored spans counted, and an exemplar seen for each outcome."""
        samples = scrape(self.url)
        self.names.update(s.name for s in samples)
        scorer = semconv.SCORE_METRIC_LABEL_SCORER
        self.last = [s for s in samples if s.name == f"{OUTCOMES}_total" and s.labels[scorer] == "pii"]
        for sample in self.last:
            if sample.exemplar is not None:
                self.exemplars[sample.labels[semconv.SCORE_METRIC_LABEL_OUTCOME]] = sample.exemplar
        return sum(s.value for s in self.last) == 2 and len(self.exemplars) == len(self.last)


@pytest.mark.timeout(300)
def test_score_metrics_are_scraped_from_the_collector_with_trace_exemplars(
    otel_binaries: OtelBinaries, jaeger: JaegerInstance, stack_env: StackEnv
) -> None:
    env = replace(stack_env, llm_env={**stack_env.llm_env, "OTEL_METRIC_EXPORT_INTERVAL": EXPORT_INTERVAL_MS})
    evaluator_endpoint = free_endpoint()
    with start_collector(
        otel_binaries.otelcol, env.work_dir / "otelcol", evaluator_endpoint, jaeger.otlp_grpc_endpoint
    ) as collector, start_evaluator(
        env, evaluator_endpoint, collector.grpc_endpoint, "--metrics-endpoint", collector.grpc_endpoint
    ):
        traffic = Traffic(collector.grpc_endpoint)
        traffic.send(2)  # the first answer is clean (pii passes), the second leaks an address (fails)
        traffic.close()
        traces = fetch_all(jaeger.query, traffic)
        scrapes = OutcomeScrapes(collector.prometheus_url)
        eventually(scrapes.complete, lambda: f"pii outcomes with exemplars: {scrapes.last}", timeout=60)

    # The score values too, as a histogram (its name is what README and the alerting rules use).
    assert {"judgeval_evaluator_score_value_bucket", "judgeval_evaluator_score_value_count"} <= scrapes.names
    by_outcome = {s.labels[semconv.SCORE_METRIC_LABEL_OUTCOME]: s for s in scrapes.last}
    assert set(by_outcome) == {semconv.ScoreOutcomeLabel.PASSED, semconv.ScoreOutcomeLabel.FAILED}
    answers = {
        span.trace_id: span for spans in traces.values() for span in spans if span.name == "answer"
    }
    for outcome, sample in by_outcome.items():
        assert sample.value == 1
        assert sample.labels[semconv.SCORE_METRIC_LABEL_SERVICE] == SERVICE
        assert sample.labels["job"] == "judgeval-evaluator"  # the evaluator's own resource
        exemplar = scrapes.exemplars[outcome]
        answer = answers[exemplar.labels["trace_id"]]  # the exemplar names the very span that was scored
        assert exemplar.labels["span_id"] == answer.span_id
        passed = answer.attributes[semconv.score_attribute("pii", semconv.ScoreField.SUCCESS)]
        assert passed is (outcome == semconv.ScoreOutcomeLabel.PASSED)
