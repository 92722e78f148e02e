"""Rules score spans of zero-code apps: attribute/resource equality, trace-id sampling, field mapping.

The sampling rule itself, and its agreement with the SDK, is pinned in tests/protocol/test_sampling.py.
"""

from __future__ import annotations

from judgeval import semconv
from judgeval.semconv import EvalStatus, ScoreField, score_attribute

from tests.support.evaluator import export, running, wait_for
from tests.support.spans import by_name, make_request, make_span

# OpenTelemetry's rule samples the top of the low-56-bit range: the largest low part is in at any rate > 0,
# the smallest out at any rate < 1 (and the top byte is ignored).
SAMPLED_TRACE = (1 << 120 | 0xFFFFFFFFFFFFFF).to_bytes(16, "big")
UNSAMPLED_TRACE = (0xFF << 120 | 1).to_bytes(16, "big")

RULES_CONFIG = {
    "scorers": [{"name": "refund_check", "type": "keyword", "options": {"keywords": ["refund"]}}],
    "rules": [
        {
            "name": "chat-refunds",
            "when": {"service.name": "shop", "gen_ai.operation.name": "chat"},
            "sampling_rate": 0.5,
            "scorer": "refund_check",
            "threshold": 1.0,
            "example": {"actual_output": "llm.answer"},
        },
        {
            "name": "no-pii",
            "when": {"span.name": "final-answer"},
            "scorer": "pii",
            "example": {"actual_output": "llm.answer"},
        },
    ],
}


async def test_rules_select_sample_and_map_fields(make_config, receiver):
    chat = {"gen_ai.operation.name": "chat", "llm.answer": "A refund is on its way."}
    spans = [
        make_span("chat-sampled", chat, trace_id=SAMPLED_TRACE),
        make_span("chat-unsampled", chat, trace_id=UNSAMPLED_TRACE),
        make_span("not-chat", {"gen_ai.operation.name": "embeddings", "llm.answer": "refund"}),
        make_span("final-answer", {"llm.answer": "mail me at a@b.co"}),
    ]
    async with running(make_config(RULES_CONFIG)) as app:
        await export(app, make_request(spans, service="shop"))
        await export(
            app, make_request([make_span("other-service", chat, trace_id=SAMPLED_TRACE)], service="x")
        )
        received = await wait_for(receiver, lambda s: len(s) == 5)
    sampled = by_name(received, "chat-sampled").attributes
    assert sampled[semconv.JUDGEVAL_EVAL_RULE] == "chat-refunds"
    assert sampled[semconv.JUDGEVAL_EVAL_STATUS] == EvalStatus.SCORED
    assert sampled[score_attribute("refund_check", ScoreField.VALUE)] == 1.0
    assert sampled[score_attribute("refund_check", ScoreField.THRESHOLD)] == 1.0
    for name in ("chat-unsampled", "not-chat", "other-service"):  # seen, not selected: marked as such
        unselected = by_name(received, name).attributes
        assert unselected[semconv.JUDGEVAL_EVAL_STATUS] == EvalStatus.NOT_SELECTED, name
        assert semconv.JUDGEVAL_EVAL_RULE not in unselected
    final = by_name(received, "final-answer").attributes
    assert final[semconv.JUDGEVAL_EVAL_RULE] == "no-pii"
    assert final[score_attribute("pii", ScoreField.VALUE)] == 0.0
    assert final[semconv.JUDGEVAL_EVAL_SUCCESS] is False


async def test_rules_leave_sdk_tagged_and_already_scored_spans_alone(make_config, receiver):
    scored = {
        "gen_ai.operation.name": "chat",
        "llm.answer": "refund",
        semconv.JUDGEVAL_EVAL_STATUS: EvalStatus.SCORED.value,
    }
    async with running(make_config(RULES_CONFIG)) as app:
        await export(app, make_request([make_span("scored", scored, trace_id=SAMPLED_TRACE)], service="shop"))
        received = await wait_for(receiver, lambda s: len(s) == 1)
    assert received[0].attributes == scored


async def test_rule_with_missing_mapped_field_exports_failed(make_config, receiver):
    async with running(make_config(RULES_CONFIG)) as app:
        await export(app, make_request([make_span("final-answer", {"other": 1})]))
        received = await wait_for(receiver, lambda s: len(s) == 1)
    attrs = received[0].attributes
    assert attrs[semconv.JUDGEVAL_EVAL_STATUS] == EvalStatus.FAILED
    assert attrs[semconv.JUDGEVAL_EVAL_VERDICT] == semconv.EvalVerdict.ERROR
    assert semconv.JUDGEVAL_EVAL_SUCCESS not in attrs  # not judged is not failed
    assert "pii: invalid_example: example has no field 'actual_output'" in attrs[semconv.JUDGEVAL_EVAL_ERROR]
