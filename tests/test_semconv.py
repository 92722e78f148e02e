"""Pins the semantic-convention contract: names, values, and the leaf/prefix rule."""

from __future__ import annotations

import subprocess
import sys

import pytest
from judgeval import semconv


def _attribute_keys() -> dict[str, str]:
    """The keys judgeval-otel writes: every dotted constant but the foreign ones it only reads."""
    keys = {}
    for name in dir(semconv):
        value = getattr(semconv, name)
        ours = isinstance(value, str) and "." in value and value not in semconv.FOREIGN_KEYS
        if name.isupper() and ours and not name.startswith("METRIC_"):
            keys[name] = value
    return keys


def test_foreign_vocabularies_are_spelled_as_their_instrumentations_write_them() -> None:
    assert semconv.OPENINFERENCE_SPAN_KIND == "openinference.span.kind"
    assert semconv.OPENINFERENCE_AGENT_NAME == "agent.name"
    assert semconv.OPENINFERENCE_INPUT_VALUE == "input.value"
    assert semconv.OPENINFERENCE_OUTPUT_MESSAGES_PREFIX == "llm.output_messages."
    assert semconv.GEN_AI_PROMPT_PREFIX == "gen_ai.prompt."
    assert semconv.GEN_AI_COMPLETION_PREFIX == "gen_ai.completion."
    assert semconv.JUDGMENT_OUTPUT == "judgment.output"
    assert semconv.OpenInferenceSpanKind.AGENT == "AGENT"
    # Only read: none of them is a key of ours.
    assert not any(k.startswith("judgeval.") for k in semconv.FOREIGN_KEYS)


def test_no_key_is_both_a_leaf_and_a_prefix_of_another() -> None:
    keys = set(_attribute_keys().values())
    keys.discard(semconv.JUDGEVAL_SCORE_PREFIX)
    keys.discard(semconv.GEN_AI_EVALUATION_RESULT_EVENT)  # an event name, not an attribute key
    # Per-scorer keys are generated; include a representative one of each field.
    keys |= {semconv.score_attribute("Package Inquiry Scorer", f) for f in semconv.ScoreField}
    clashes = sorted((a, b) for a in keys for b in keys if b.startswith(a + "."))
    assert clashes == []


def test_score_keys_live_under_the_score_prefix_and_clash_with_no_fixed_key() -> None:
    fixed = set(_attribute_keys().values())
    key = semconv.score_attribute("eval", semconv.ScoreField.VALUE)
    assert key.startswith(semconv.JUDGEVAL_SCORE_PREFIX)
    assert not any(key.startswith(f + ".") for f in fixed if f != semconv.JUDGEVAL_SCORE_PREFIX)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Package Inquiry Scorer", "package_inquiry_scorer"),
        ("faithfulness", "faithfulness"),
        ("a.b/c", "a_b_c"),
        ("  !!! ", "unnamed"),
    ],
)
def test_scorer_key(name: str, expected: str) -> None:
    assert semconv.scorer_key(name) == expected


def test_standard_genai_names_are_spelled_as_upstream() -> None:
    assert semconv.GEN_AI_OPERATION_NAME == "gen_ai.operation.name"
    assert semconv.GEN_AI_AGENT_NAME == "gen_ai.agent.name"
    assert semconv.GEN_AI_AGENT_ID == "gen_ai.agent.id"
    assert semconv.GEN_AI_PROVIDER_NAME == "gen_ai.provider.name"
    assert semconv.GEN_AI_REQUEST_MODEL == "gen_ai.request.model"
    assert semconv.GEN_AI_USAGE_INPUT_TOKENS == "gen_ai.usage.input_tokens"
    assert semconv.GEN_AI_EVALUATION_RESULT_EVENT == "gen_ai.evaluation.result"
    assert semconv.GEN_AI_EVALUATION_SCORE_VALUE == "gen_ai.evaluation.score.value"
    assert semconv.GenAiOperationName.EXECUTE_TOOL == "execute_tool"
    assert semconv.GenAiOperationName.INVOKE_AGENT == "invoke_agent"


def test_routing_tag_values() -> None:
    assert semconv.JUDGEVAL_EVAL_STATUS == "judgeval.eval.status"
    assert semconv.EvalStatus.PENDING == "pending"
    assert {s.value for s in semconv.EvalStatus} == {"pending", "scored", "partial", "failed", "not_selected"}


def test_rule_candidate_keys_are_the_vocabularies_llm_instrumentations_use() -> None:
    assert semconv.RULE_CANDIDATE_KEYS == (
        "gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.system", "openinference.span.kind",
        "llm.request.type",
    )


def test_every_judgeval_key_is_in_the_one_namespace() -> None:
    for name, value in _attribute_keys().items():
        # Besides standard names and ours, only other instrumentations' keys that we read.
        foreign = ("openinference.", "llm.")
        assert value.startswith(("gen_ai.", "judgeval.", "error.", "service.", "deployment.", *foreign)), name


def test_importing_semconv_has_no_side_effects() -> None:
    code = (
        "import sys; before = set(sys.modules); import judgeval.semconv; "
        "new = set(sys.modules) - before; "
        "assert not any(m.startswith(('opentelemetry', 'grpc', 'openai', 'pydantic')) for m in new), new"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def _metric_names() -> dict[str, str]:
    return {name: getattr(semconv, name) for name in dir(semconv) if name.startswith("METRIC_")}


def test_metric_names_are_spelled_as_documented() -> None:
    assert semconv.METRIC_SPANS_ACCEPTED == "judgeval.evaluator.spans.accepted"
    assert semconv.METRIC_SPANS_EXPORTED == "judgeval.evaluator.spans.exported"
    assert semconv.METRIC_SCORING_DURATION == "judgeval.evaluator.scoring.duration"
    assert semconv.METRIC_QUEUE_DEPTH == "judgeval.evaluator.queue.depth"
    assert semconv.METRIC_ALERTS_FIRED == "judgeval.alerts.fired"
    assert semconv.METRIC_BEHAVIORS_ASSIGNED == "judgeval.behaviors.assigned"
    assert semconv.METRIC_BEHAVIORS_EVENTS == "judgeval.behaviors.events"
    # What the shipped Prometheus rules (collector-config/prometheus/) query, once exported.
    assert semconv.METRIC_SCORE_OUTCOMES == "judgeval.evaluator.score.outcomes"
    assert semconv.METRIC_SCORE_VALUE == "judgeval.evaluator.score.value"
    labels = [semconv.SCORE_METRIC_LABEL_SCORER, semconv.SCORE_METRIC_LABEL_SERVICE,
              semconv.SCORE_METRIC_LABEL_AGENT, semconv.SCORE_METRIC_LABEL_OUTCOME]
    assert labels == ["scorer", "service", "agent", "outcome"]
    assert list(semconv.ScoreOutcomeLabel) == ["passed", "failed", "error"]


def test_metric_names_are_unique_lowercase_and_in_the_one_namespace() -> None:
    names = list(_metric_names().values())
    assert len(names) == len(set(names))
    for name in names:
        assert name.startswith("judgeval.") and name == name.lower() and " " not in name, name


def test_the_evaluator_creates_exactly_the_metric_instruments_named_here() -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    from evaluator_service.metrics import EvaluatorMetrics
    from evaluator_service.trajectories.counters import TrajectoryCounters

    reader = InMemoryMetricReader()
    metrics = EvaluatorMetrics(MeterProvider(metric_readers=[reader]))
    metrics.accepted(1)
    metrics.not_selected(1)
    metrics.rejected(1, "full")
    metrics.forwarded(1)
    metrics.dropped(1, "refused")
    metrics.span_scored("scored")
    metrics.duplicates(1)
    metrics.dead_lettered("decode", "marked_failed")
    metrics.not_selected(1)
    metrics.scoring_error("s", "timeout")
    metrics.scoring_finished("s", 0.1)
    metrics.score_recorded({"scorer": "s"}, semconv.ScoreOutcomeLabel.PASSED, 1.0)
    metrics.alert_fired("a")
    metrics.behavior_assigned("b", "s", new=True)
    metrics.behavior_error("embedding")
    # The alert channels' instruments live beside their delivery code, on the evaluator's provider.
    from evaluator_service.alerts.channels.breaker import CircuitBreaker, CircuitState
    from evaluator_service.alerts.channels.delivery_metrics import DeliveryMetrics

    breakers = {"webhook:ops": CircuitBreaker(5, 60.0, lambda: 0.0)}
    channel_metrics = DeliveryMetrics(metrics.provider.get_meter("channels"), lambda: breakers)
    channel_metrics.attempt("webhook:ops", "delivered")
    channel_metrics.transition("webhook:ops", CircuitState.OPEN)
    trajectory_counters = TrajectoryCounters(metrics)  # the trajectory counters, on the same provider
    trajectory_counters.spans("buffered", 1)
    trajectory_counters.trajectories("scored")
    metrics.behavior_event("behavior.created")
    metrics.sandbox_llm_call("s", "allowed")
    from judgeval.protocol.interaction_record import InteractionRecord

    from evaluator_service.console.recorder import ConsoleRecorder  # the console data's, on the same provider
    from evaluator_service.console.settings import ConsoleDataConfig

    console = ConsoleRecorder(ConsoleDataConfig(max_pending=1), None, metrics=metrics)  # type: ignore[arg-type]
    console._flushed("written")
    failing = InteractionRecord(scorer="s", trace_id="1" * 32, span_id="2" * 16, at=0.0, example={},
                                threshold=0.5, score=0.0, passed=False)
    console.record_interactions([failing, failing])  # the second one is over max_pending
    data = reader.get_metrics_data()
    assert data is not None
    recorded = {m.name for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
    assert recorded == set(_metric_names().values())
