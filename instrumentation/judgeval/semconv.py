"""Every attribute key, event name and enumerated value judgeval-otel reads or writes.

This module is the single source of truth shared by the SDK, the evaluator service and (by quotation,
checked in tests) the collector YAML. It imports nothing and has no side effects.

Standard OpenTelemetry GenAI semantic-convention names come first and are defined here as local constants,
because the upstream Python constants live in incubating modules that move between releases. Everything
that is ours lives under the single ``judgeval.`` namespace. No key is both a leaf and the prefix of another
key (``tests/test_semconv.py`` pins this), so backends that nest dotted keys (Tempo, Elasticsearch) never
see a collision.
"""

from __future__ import annotations

import functools
import re
from enum import StrEnum
from typing import Final

# --- OpenTelemetry GenAI semantic conventions -------------------------------------------------------

GEN_AI_OPERATION_NAME: Final = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME: Final = "gen_ai.provider.name"
GEN_AI_AGENT_NAME: Final = "gen_ai.agent.name"
GEN_AI_AGENT_ID: Final = "gen_ai.agent.id"
GEN_AI_TOOL_NAME: Final = "gen_ai.tool.name"
GEN_AI_TOOL_CALL_ARGUMENTS: Final = "gen_ai.tool.call.arguments"
GEN_AI_TOOL_CALL_RESULT: Final = "gen_ai.tool.call.result"
GEN_AI_REQUEST_MODEL: Final = "gen_ai.request.model"
GEN_AI_REQUEST_TEMPERATURE: Final = "gen_ai.request.temperature"
GEN_AI_REQUEST_TOP_P: Final = "gen_ai.request.top_p"
GEN_AI_REQUEST_TOP_K: Final = "gen_ai.request.top_k"
GEN_AI_REQUEST_MAX_TOKENS: Final = "gen_ai.request.max_tokens"
GEN_AI_REQUEST_SEED: Final = "gen_ai.request.seed"
GEN_AI_REQUEST_STOP_SEQUENCES: Final = "gen_ai.request.stop_sequences"
GEN_AI_REQUEST_FREQUENCY_PENALTY: Final = "gen_ai.request.frequency_penalty"
GEN_AI_REQUEST_PRESENCE_PENALTY: Final = "gen_ai.request.presence_penalty"
GEN_AI_REQUEST_CHOICE_COUNT: Final = "gen_ai.request.choice.count"
GEN_AI_REQUEST_ENCODING_FORMATS: Final = "gen_ai.request.encoding_formats"
GEN_AI_EMBEDDINGS_DIMENSION_COUNT: Final = "gen_ai.embeddings.dimension.count"
GEN_AI_OUTPUT_TYPE: Final = "gen_ai.output.type"
GEN_AI_RESPONSE_ID: Final = "gen_ai.response.id"
GEN_AI_RESPONSE_MODEL: Final = "gen_ai.response.model"
GEN_AI_RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
GEN_AI_USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.usage.cache_read.input_tokens"
GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: Final = "gen_ai.usage.cache_creation.input_tokens"
GEN_AI_INPUT_MESSAGES: Final = "gen_ai.input.messages"
GEN_AI_OUTPUT_MESSAGES: Final = "gen_ai.output.messages"
GEN_AI_SYSTEM_INSTRUCTIONS: Final = "gen_ai.system_instructions"
GEN_AI_TOOL_DEFINITIONS: Final = "gen_ai.tool.definitions"
GEN_AI_CONVERSATION_ID: Final = "gen_ai.conversation.id"

# Evaluation results (GenAI semconv ``gen_ai.evaluation.result`` event), one event per score.
GEN_AI_EVALUATION_RESULT_EVENT: Final = "gen_ai.evaluation.result"
GEN_AI_EVALUATION_NAME: Final = "gen_ai.evaluation.name"
GEN_AI_EVALUATION_SCORE_VALUE: Final = "gen_ai.evaluation.score.value"
GEN_AI_EVALUATION_SCORE_LABEL: Final = "gen_ai.evaluation.score.label"
GEN_AI_EVALUATION_EXPLANATION: Final = "gen_ai.evaluation.explanation"

GEN_AI_SYSTEM: Final = "gen_ai.system"
"""The older GenAI semconv name of the provider (before ``gen_ai.provider.name``); OpenLLMetry still sets
it. Read, never written."""

ERROR_TYPE: Final = "error.type"
SERVICE_NAME: Final = "service.name"
DEPLOYMENT_ENVIRONMENT_NAME: Final = "deployment.environment.name"


# --- Other instrumentations' vocabularies (read, never written) ----------------------------------------

OPENINFERENCE_SPAN_KIND: Final = "openinference.span.kind"
"""OpenInference's span kind (``LLM``, ``AGENT``, ``CHAIN``, ``TOOL``, ...; see
:class:`OpenInferenceSpanKind`), on every span it makes."""

LLM_REQUEST_TYPE: Final = "llm.request.type"
"""OpenLLMetry's (Traceloop's) request type (``chat``, ``completion``, ...), on its LLM spans."""

RULE_CANDIDATE_KEYS: Final = (
    GEN_AI_OPERATION_NAME,
    GEN_AI_PROVIDER_NAME,
    GEN_AI_SYSTEM,
    OPENINFERENCE_SPAN_KIND,
    LLM_REQUEST_TYPE,
)
"""Span attributes whose presence makes an untagged span a *rule candidate*: an LLM or agent span (GenAI
semconv, OpenInference, OpenLLMetry) that evaluator-side rules may want to score. The shipped collector
configs send candidates to the evaluator (``tests/collector/test_config_semconv.py`` pins their condition
to this tuple); everything else untagged goes straight to the backend."""


class GenAiOperationName(StrEnum):
    """Values of ``gen_ai.operation.name`` that judgeval-otel emits."""

    CHAT = "chat"
    TEXT_COMPLETION = "text_completion"
    EMBEDDINGS = "embeddings"
    GENERATE_CONTENT = "generate_content"
    EXECUTE_TOOL = "execute_tool"
    INVOKE_AGENT = "invoke_agent"
    CREATE_AGENT = "create_agent"


class GenAiProviderName(StrEnum):
    """Values of ``gen_ai.provider.name`` that judgeval-otel emits."""

    OPENAI = "openai"
    ANTHROPIC = "anthropic"


# --- Other instrumentations' messages, inputs and agents (read, never written) ------------------------
# Spans of third-party instrumentations carry these; agent attribution and the evaluator's example
# resolver read them so that rules need no per-rule mapping.

OPENINFERENCE_TOOL_NAME: Final = "tool.name"
"""OpenInference: the name of the tool a ``TOOL`` span ran."""
GEN_AI_PROMPT_PREFIX: Final = "gen_ai.prompt."
"""Older GenAI semconv and OpenLLMetry (traceloop): ``gen_ai.prompt.<i>.role`` / ``.content``."""
GEN_AI_COMPLETION_PREFIX: Final = "gen_ai.completion."
"""Older GenAI semconv and OpenLLMetry: ``gen_ai.completion.<i>.role`` / ``.content``."""
GEN_AI_PROMPT: Final = "gen_ai.prompt"
"""Older GenAI semconv: the prompt as one attribute, or an event attribute of ``gen_ai.content.prompt``."""
GEN_AI_COMPLETION: Final = "gen_ai.completion"
"""Older GenAI semconv: the completion as one attribute, or an event attribute of
``gen_ai.content.completion``."""
GEN_AI_CONTENT_PROMPT_EVENT: Final = "gen_ai.content.prompt"
"""Older GenAI semconv span event carrying :data:`GEN_AI_PROMPT`."""
GEN_AI_CONTENT_COMPLETION_EVENT: Final = "gen_ai.content.completion"
"""Older GenAI semconv span event carrying :data:`GEN_AI_COMPLETION`."""
GEN_AI_USER_MESSAGE_EVENT: Final = "gen_ai.user.message"
"""GenAI semconv (events era) event of one input message; its ``content`` attribute holds the text."""
GEN_AI_CHOICE_EVENT: Final = "gen_ai.choice"
"""GenAI semconv (events era) event of one output choice; its ``message`` attribute holds the answer."""
LLM_PROMPTS_PREFIX: Final = "llm.prompts."
"""Older OpenLLMetry releases: ``llm.prompts.<i>.role`` / ``.content``."""
LLM_COMPLETIONS_PREFIX: Final = "llm.completions."
"""Older OpenLLMetry releases: ``llm.completions.<i>.role`` / ``.content``."""
TRACELOOP_ENTITY_INPUT: Final = "traceloop.entity.input"
"""OpenLLMetry: JSON of a workflow/task/agent's input."""
TRACELOOP_ENTITY_OUTPUT: Final = "traceloop.entity.output"
"""OpenLLMetry: JSON of a workflow/task/agent's output."""
TRACELOOP_SPAN_KIND: Final = "traceloop.span.kind"
"""OpenLLMetry: ``workflow``, ``task``, ``agent``, ``tool``."""

OPENINFERENCE_AGENT_NAME: Final = "agent.name"
"""OpenInference: the agent's name on AGENT spans."""
OPENINFERENCE_INPUT_VALUE: Final = "input.value"
"""OpenInference: a span's input (text or JSON)."""
OPENINFERENCE_OUTPUT_VALUE: Final = "output.value"
"""OpenInference: a span's output (text or JSON)."""
OPENINFERENCE_INPUT_MESSAGES_PREFIX: Final = "llm.input_messages."
"""OpenInference: ``llm.input_messages.<i>.message.role`` / ``.message.content``."""
OPENINFERENCE_OUTPUT_MESSAGES_PREFIX: Final = "llm.output_messages."
"""OpenInference: ``llm.output_messages.<i>.message.role`` / ``.message.content``."""

JUDGMENT_INPUT: Final = "judgment.input"
"""Judgment's hosted SDK: a span's input (JSON)."""
JUDGMENT_OUTPUT: Final = "judgment.output"
"""Judgment's hosted SDK: a span's output (JSON)."""
JUDGMENT_SPAN_KIND: Final = "judgment.span_kind"
"""Judgment's hosted SDK: ``llm``, ``tool``, ``span``, ..."""


JUDGMENT_SESSION_ID: Final = "judgment.session_id"
"""The Judgment platform SDK's session id attribute; one of :data:`SESSION_ID_KEYS`."""
SESSION_ID: Final = "session.id"
"""OpenTelemetry's general session id attribute (also OpenInference's and OpenLLMetry's)."""

FOREIGN_KEYS: Final = frozenset({
    GEN_AI_SYSTEM, LLM_REQUEST_TYPE,
    GEN_AI_PROMPT_PREFIX, GEN_AI_COMPLETION_PREFIX, GEN_AI_PROMPT, GEN_AI_COMPLETION,
    GEN_AI_CONTENT_PROMPT_EVENT, GEN_AI_CONTENT_COMPLETION_EVENT,
    GEN_AI_USER_MESSAGE_EVENT, GEN_AI_CHOICE_EVENT,
    LLM_PROMPTS_PREFIX, LLM_COMPLETIONS_PREFIX,
    TRACELOOP_ENTITY_INPUT, TRACELOOP_ENTITY_OUTPUT, TRACELOOP_SPAN_KIND,
    OPENINFERENCE_SPAN_KIND, OPENINFERENCE_AGENT_NAME,
    OPENINFERENCE_INPUT_VALUE, OPENINFERENCE_OUTPUT_VALUE,
    OPENINFERENCE_INPUT_MESSAGES_PREFIX, OPENINFERENCE_OUTPUT_MESSAGES_PREFIX,
    JUDGMENT_INPUT, JUDGMENT_OUTPUT, JUDGMENT_SPAN_KIND, JUDGMENT_SESSION_ID,
    SESSION_ID, OPENINFERENCE_TOOL_NAME,
})
"""Keys of other instrumentations that judgeval-otel only reads (never writes). Their vocabularies are not
ours, so the leaf/prefix rule does not bind them (older GenAI has both ``gen_ai.prompt`` and
``gen_ai.prompt.0.content``)."""


class OpenInferenceSpanKind(StrEnum):
    """Values of :data:`OPENINFERENCE_SPAN_KIND` that judgeval-otel reads."""

    LLM = "LLM"
    AGENT = "AGENT"
    CHAIN = "CHAIN"
    TOOL = "TOOL"


# --- judgeval namespace: spans traced by the SDK ----------------------------------------------------

JUDGEVAL_PROJECT_NAME: Final = "judgeval.project.name"
"""Resource and span attribute: the ``Tracer(project_name=...)`` the span belongs to."""

JUDGEVAL_SPAN_TYPE: Final = "judgeval.span.type"
"""The ``span_type`` given to ``@observe`` (``function``, ``tool``, ``llm``, ``agent``, ...)."""

JUDGEVAL_INPUT: Final = "judgeval.input"
"""JSON of the decorated call's arguments, size-capped."""

JUDGEVAL_OUTPUT: Final = "judgeval.output"
"""JSON (or repr) of the decorated call's return value, size-capped."""

JUDGEVAL_AGENT_PARENT_NAME: Final = "judgeval.agent.parent.name"
"""``gen_ai.agent.name`` of the agent that called the current agent, if any."""

JUDGEVAL_AGENT_PARENT_ID: Final = "judgeval.agent.parent.id"
"""``gen_ai.agent.id`` of the agent that called the current agent, if any."""

JUDGEVAL_AGENT_CLASS: Final = "judgeval.agent.class"
"""Qualified class name of the agent whose method is running."""

JUDGEVAL_LLM_STREAMED: Final = "judgeval.llm.streamed"
"""True on an LLM span whose call returned a stream. The span ends when the stream is exhausted, closed or
garbage-collected, carrying what was received (output, finish reasons, usage if the stream sent it)."""

# --- judgeval namespace: evaluation routing and requests ----------------------------------------------

JUDGEVAL_EVAL_STATUS: Final = "judgeval.eval.status"
"""The routing tag. ``pending`` on spans that ask to be scored; the evaluator rewrites it to a final value
(see :class:`EvalStatus`) so that re-ingested, enriched spans never loop back into evaluation. Every span
the evaluator re-exports carries a final value (``not_selected`` if no rule selected it), so the collector
sends to the evaluator exactly the spans tagged ``pending`` plus untagged rule candidates
(:data:`RULE_CANDIDATE_KEYS`), and everything else to the backend."""

JUDGEVAL_EVAL_REQUESTS: Final = "judgeval.eval.requests"
"""JSON array of evaluation requests, one per ``async_evaluate``.

The payload is defined in :mod:`judgeval.protocol.evaluation_request`."""

JUDGEVAL_EVAL_SCORERS: Final = "judgeval.eval.scorers"
"""String array of the requested scorer names, for search and routing without parsing JSON."""

JUDGEVAL_EVAL_SUCCESS: Final = "judgeval.eval.success"
"""Bool set by the evaluator: ``true`` when every requested score met its threshold, ``false`` when at least
one produced score did not. Absent when no score failed but some could not be produced (a scoring error is
not a failing score: see :data:`JUDGEVAL_EVAL_VERDICT`)."""

JUDGEVAL_EVAL_VERDICT: Final = "judgeval.eval.verdict"
"""The span-level verdict (see :class:`EvalVerdict`): ``pass``, ``fail`` (a score missed its threshold) or
``error`` (no score failed, but at least one request could not be judged), so failures and scoring errors
are found by different queries."""

JUDGEVAL_EVAL_ERROR: Final = "judgeval.eval.error"
"""Why scoring of this span failed (timeout, paused scorer, unknown scorer, ...), one line per failure."""

JUDGEVAL_EVAL_EVALUATOR: Final = "judgeval.eval.evaluator"
"""Which evaluator replica scored the span (``host:port`` of its listener), for debugging scale-out."""

JUDGEVAL_EVAL_RULE: Final = "judgeval.eval.rule"
"""Name of the evaluator-side rule that selected a span for scoring (zero-code apps)."""

JUDGEVAL_EVAL_TRIMMED: Final = "judgeval.eval.trimmed"
"""Int, set by the evaluator on a span too large for the downstream's request limit: the span's serialized
size in bytes before its longest attribute values were cut (each cut value ends in ``...[trimmed]``)."""

JUDGEVAL_EVALUATED_SPAN_ID: Final = "judgeval.eval.target.span_id"
"""Hex span id of the span a locally computed score belongs to (set on the score-carrying span)."""

JUDGEVAL_SCORE_PREFIX: Final = "judgeval.score."
"""Flat per-scorer attributes are ``judgeval.score.<scorer_key>.<field>``; see :func:`score_attribute`."""


# --- judgeval namespace: trajectory and session scoring ---------------------------------------------

JUDGEVAL_TRAJECTORY_REQUESTS: Final = "judgeval.trajectory.requests"
"""JSON array of trajectory-scoring requests (see :mod:`judgeval.protocol.trajectory_request`), set on the
span that bounds the trajectory (``@observe(scorer_config=TraceScorerConfig(...))``). The trajectory is that
span and every span below it, in any process of the trace."""

JUDGEVAL_TRAJECTORY_SCORERS: Final = "judgeval.trajectory.scorers"
"""String array of the trajectory scorers requested on the bounding span, for search without parsing JSON."""

JUDGEVAL_TRAJECTORY_SCOPE: Final = "judgeval.trajectory.scope"
"""On a trajectory result span: ``trace`` or ``session`` (see :class:`TrajectoryScope`)."""

JUDGEVAL_TRAJECTORY_SPAN_COUNT: Final = "judgeval.trajectory.span_count"
"""On a trajectory result span: how many spans the scorer saw."""

JUDGEVAL_TRAJECTORY_TRACE_IDS: Final = "judgeval.trajectory.trace_ids"
"""On a session result span: hex ids of the session's traces that were scored (the span also links to
each)."""

SESSION_ID_KEYS: Final = (GEN_AI_CONVERSATION_ID, SESSION_ID, JUDGMENT_SESSION_ID)
"""Span (or resource) attributes that name the session a span belongs to, in order of preference; the
evaluator's ``scope: session`` rules group by the first one present (configurable per rule)."""

TRACESTATE_KEY: Final = "judgeval"
"""W3C ``tracestate`` member the SDK adds to the context of a bounding span, so every span below it, in this
process and in any process the context propagates to, carries the member in its OTLP ``trace_state``. The
collector routes copies of such spans to the evaluator's trajectory buffer (see the collector configs)."""

TRACESTATE_TRAJECTORY: Final = "t"
"""Value of the :data:`TRACESTATE_KEY` member: the span belongs to a trajectory that asked to be scored."""


JUDGEVAL_TRAJECTORY_RESULT_KEY: Final = "judgeval.trajectory.result_key"
"""On a trajectory result span: a stable key (trajectory scope, trace or session id, bounding span, scorer)
that a re-score (late spans, a session that resumed) repeats, so the newest result supersedes older ones."""

JUDGEVAL_TRAJECTORY_REVISION: Final = "judgeval.trajectory.revision"
"""On a trajectory result span: 0 for the first score under its result key, then 1, 2, ... per re-score."""

JUDGEVAL_TRAJECTORY_SESSION_ID: Final = "judgeval.trajectory.session_id"
"""On a session result span: the session id the traces were grouped by."""

JUDGEVAL_TRAJECTORY_TRUNCATED_SPANS: Final = "judgeval.trajectory.truncated_spans"
"""On a trajectory result span: spans of the trajectory the evaluator did not buffer because the trajectory
reached ``trajectories.max_spans_per_trajectory``; the scorer saw only the others."""

JUDGEVAL_EVALUATOR_NAME: Final = "judgeval.evaluator.name"
"""On a trajectory result span: the scorer (evaluator) name that produced it."""

JUDGEVAL_EVALUATOR_VERSION: Final = "judgeval.evaluator.version"
"""On a trajectory result span: the uploaded scorer's version, when the request named one."""

JUDGEVAL_EVALUATOR_KIND: Final = "judgeval.evaluator.kind"
"""On a trajectory result span: ``server_hosted`` (uploaded or built-in, run by the evaluator)."""

TRAJECTORY_FEED_HEADER: Final = "x-judgeval-feed"
"""gRPC metadata / HTTP header the collector's trajectory-feed exporter sets: the export carries COPIES of
spans for the evaluator's trajectory buffer, which it never forwards (the originals take their own routes)."""

TRAJECTORY_FEED_VALUE: Final = "trajectory"
"""Value of :data:`TRAJECTORY_FEED_HEADER` on feed exports."""


class TrajectoryScope(StrEnum):
    """Values of :data:`JUDGEVAL_TRAJECTORY_SCOPE` and of a rule's ``scope:``."""

    SPAN = "span"
    """One span (``async_evaluate``, span rules): the default scope of a rule."""
    TRACE = "trace"
    """A trace, or the subtree of the span that bounds it."""
    SESSION = "session"
    """Every trace sharing a session id (see :data:`SESSION_ID_KEYS`)."""


# --- judgeval namespace: behavior grouping (written by the evaluator on failing spans) ---------------

JUDGEVAL_BEHAVIOR_ID: Final = "judgeval.behavior.id"
"""Id of the behavior (a group of similar failures of one scorer) this failing span was assigned to."""

JUDGEVAL_BEHAVIOR_NAME: Final = "judgeval.behavior.name"
"""Human-readable name of the behavior at export time (an operator's rename or a generated name)."""

JUDGEVAL_BEHAVIOR_NEW: Final = "judgeval.behavior.new"
"""Bool: true only on the first span of a newly discovered behavior."""

JUDGEVAL_BEHAVIOR_SCORER: Final = "judgeval.behavior.scorer"
"""Name of the failing scorer whose result was grouped (a span may fail several scorers)."""

JUDGEVAL_BEHAVIOR_KIND: Final = "judgeval.behavior.kind"
"""What the behavior groups: ``failure`` (failing scores) or ``error`` (scoring errors, kept apart)."""

# --- judgeval namespace: metric instrument names (recorded by the evaluator) -------------------------
# Instruments, not attributes: ``METRIC_`` marks them apart from the attribute keys above.

METRIC_SPANS_ACCEPTED: Final = "judgeval.evaluator.spans.accepted"
"""Counter of spans durably accepted by the evaluator's OTLP ``Export``."""

METRIC_SPANS_REJECTED: Final = "judgeval.evaluator.spans.rejected"
"""Counter of spans the evaluator refused (queue full or invalid ids), by ``reason``."""

METRIC_SPANS_NOT_SELECTED: Final = "judgeval.evaluator.spans.not_selected"
"""Counter of accepted spans that asked for nothing and that no rule selected (exported ``not_selected``)."""

METRIC_SPANS_EXPORTED: Final = "judgeval.evaluator.spans.exported"
"""Counter of spans the downstream acknowledged."""

METRIC_SPANS_DROPPED: Final = "judgeval.evaluator.spans.dropped"
"""Counter of spans the downstream permanently refused, by ``reason``."""

METRIC_SPANS_DEAD_LETTERED: Final = "judgeval.evaluator.spans.dead_lettered"
"""Counter of spans the pipeline could not handle as asked, by ``stage`` (``decode``, ``score``,
``behavior``, ``enrich``, ``encode``, ``export``) and ``outcome`` (``marked_failed``: exported with status
``failed`` and the reason; ``trimmed``: exported with long values cut; ``dropped``: could not be exported
at all, logged)."""

METRIC_SPANS_DUPLICATES: Final = "judgeval.evaluator.spans.duplicates"
"""Counter of spans to score the evaluator had already accepted (a collector's retry of an export whose
answer it missed, or one span twice in an export): answered OK, dropped, never scored or counted twice."""

METRIC_SPANS_SCORED: Final = "judgeval.evaluator.spans.scored"
"""Counter of tagged spans processed, by final eval ``status``."""

METRIC_SCORING_ERRORS: Final = "judgeval.evaluator.scoring.errors"
"""Counter of scoring attempts that produced no score, by ``scorer`` and ``kind``."""

METRIC_SCORING_DURATION: Final = "judgeval.evaluator.scoring.duration"
"""Histogram of seconds to score one request (retries included), by ``scorer``."""

METRIC_SCORE_VALUE: Final = "judgeval.evaluator.score.value"
"""Histogram of score values, by ``scorer``, ``service`` and ``agent``, with the buckets of
:data:`SCORE_VALUE_BUCKET_BOUNDARIES`; exemplars carry the scored span's ids."""

SCORE_VALUE_BUCKET_BOUNDARIES: Final = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
"""Explicit bucket boundaries of :data:`METRIC_SCORE_VALUE` (scores are usually in [0, 1]; a bucket counts
values ``<=`` its boundary, Prometheus's ``le``, so ``le="0.2"`` counts scores at or below 0.2 and ``+Inf``
minus ``le="0.8"`` those above 0.8). The Prometheus rules for single scores past a threshold
(collector-config/prometheus/) need their threshold on one of these boundaries."""

METRIC_SCORE_OUTCOMES: Final = "judgeval.evaluator.score.outcomes"
"""Counter of evaluation results by ``scorer``, ``service``, ``agent`` and ``outcome`` (a
:class:`ScoreOutcomeLabel`): a scoring error is counted apart from a failing score. Exemplars carry the scored
span's ids."""

METRIC_QUEUE_DEPTH: Final = "judgeval.evaluator.queue.depth"
"""Gauge of spans in the durable queue."""

METRIC_SCORERS_PAUSED: Final = "judgeval.evaluator.scorers.paused"
"""Gauge of scorers currently paused."""

METRIC_ALERTS_FIRED: Final = "judgeval.alerts.fired"
"""Counter of alert firing notifications, by ``alert``."""

METRIC_ALERTS_DELIVERY_ATTEMPTS: Final = "judgeval.alerts.delivery.attempts"
"""Counter of tries to send an alert notification to a channel, by ``channel`` and ``outcome``
(``delivered``, ``failed``, ``circuit_open``: not sent because the channel's circuit breaker is open)."""

METRIC_ALERTS_CIRCUIT_TRANSITIONS: Final = "judgeval.alerts.circuit.transitions"
"""Counter of a channel's circuit-breaker state changes, by ``channel`` and the new ``state`` (``open``,
``half_open``, ``closed``)."""

METRIC_ALERTS_CIRCUIT_OPEN: Final = "judgeval.alerts.circuit.open"
"""Gauge per ``channel``: 1 while its circuit breaker is open or half-open (deliveries paused), else 0."""

METRIC_BEHAVIORS_ASSIGNED: Final = "judgeval.behaviors.assigned"
"""Counter of failing spans assigned to a behavior, by ``behavior`` and ``scorer``."""

METRIC_BEHAVIORS_DISCOVERED: Final = "judgeval.behaviors.discovered"
"""Counter of newly discovered behaviors, by ``scorer``."""

METRIC_BEHAVIORS_ERRORS: Final = "judgeval.behaviors.errors"
"""Counter of failing spans exported without a behavior, by ``kind``."""

METRIC_SANDBOX_LLM_CALLS: Final = "judgeval.evaluator.sandbox.llm_calls"
"""Counter of uploaded scorers' own outbound calls through the sandbox's egress proxy, by ``scorer`` and
``outcome`` (``allowed``, ``refused``: destination not allowed; ``limit``: the per-span budget was spent;
``unreachable``)."""
METRIC_TRAJECTORY_SPANS: Final = "judgeval.evaluator.trajectory.spans"
"""Counter of trajectory-feed span copies, by ``outcome``: ``buffered``, ``truncated`` (over the
per-trajectory bound), ``late`` (after the re-score budget), ``refused`` (buffer full: the export answered
UNAVAILABLE)."""

METRIC_TRAJECTORY_OUTCOMES: Final = "judgeval.evaluator.trajectory.outcomes"
"""Counter of trajectories by ``outcome``: ``scored``, ``rescored``, ``unbounded`` (no bounding span arrived
before ``trace_idle_s``), ``invalid_request``, ``not_sampled``, ``local`` (a request for a
``server_hosted=False`` scorer, which the agent process runs), ``evicted`` (a scored trajectory's spans
dropped early to make room), ``expired``."""

TRAJECTORY_METRIC_LABEL_OUTCOME: Final = "outcome"
"""Metric attribute of the two trajectory counters."""

METRIC_BEHAVIORS_EVENTS: Final = "judgeval.behaviors.events"
"""Counter of behavior lifecycle events (``behavior.created``, ``behavior.increasing``,
``behavior.resolved``, ``behavior.regressed``) by ``kind``, counted by the replica that made the transition
(so the sum over replicas is the number of events in the log)."""

# Console data: what the evaluator records for the console (evaluator_service/console/recorder.py).
METRIC_CONSOLE_FLUSHES: Final = "judgeval.evaluator.console.flushes"
"""Counter of the console recorder's flushes to the state database, by ``outcome``: ``written``, ``kept``
(the database refused; the data waits for the next flush), ``failed`` (an unexpected error; its failing
records and samples are lost and counted in :data:`METRIC_CONSOLE_DROPPED`)."""
METRIC_CONSOLE_DROPPED: Final = "judgeval.evaluator.console.dropped"
"""Counter of failing-interaction records and not-evaluated samples the console recorder could not keep
(``console_data.max_pending`` reached, or a failed flush); the rollup counters still count them."""
CONSOLE_METRIC_LABEL_OUTCOME: Final = "outcome"
"""Metric attribute of :data:`METRIC_CONSOLE_FLUSHES`."""

# Metric attribute keys (Prometheus labels once exported; short, as the collector's Prometheus exporter
# keeps them verbatim). The scored span's service and agent are data-point attributes, not the resource:
# the evaluator's own resource names the evaluator.
SCORE_METRIC_LABEL_SCORER: Final = "scorer"
"""Metric attribute: the scorer's name."""

SCORE_METRIC_LABEL_SERVICE: Final = "service"
"""Metric attribute: ``service.name`` of the scored span's resource (empty when it has none)."""

SCORE_METRIC_LABEL_AGENT: Final = "agent"
"""Metric attribute: ``gen_ai.agent.name`` of the scored span (empty when it has none)."""

SCORE_METRIC_LABEL_OUTCOME: Final = "outcome"
"""Metric attribute of :data:`METRIC_SCORE_OUTCOMES`: a :class:`ScoreOutcomeLabel` value."""

ALERT_METRIC_LABEL_CHANNEL: Final = "channel"
"""Metric attribute of the ``judgeval.alerts.delivery.*`` and ``.circuit.*`` metrics: the channel's shown
name (``slack:oncall``), never a URL or secret."""

ALERT_METRIC_LABEL_OUTCOME: Final = "outcome"
"""Metric attribute of :data:`METRIC_ALERTS_DELIVERY_ATTEMPTS`: ``delivered``, ``failed``,
``circuit_open``."""

ALERT_METRIC_LABEL_STATE: Final = "state"
"""Metric attribute of :data:`METRIC_ALERTS_CIRCUIT_TRANSITIONS`: ``open``, ``half_open`` or ``closed``."""


class ScoreOutcomeLabel(StrEnum):
    """Values of :data:`SCORE_METRIC_LABEL_OUTCOME`: the scorer passed, failed, or could not judge (error)."""

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"


class ScoreField(StrEnum):
    """Leaf names under ``judgeval.score.<scorer_key>.``."""

    VALUE = "value"
    SUCCESS = "success"
    REASON = "reason"
    THRESHOLD = "threshold"
    ERROR = "error"


class EvalStatus(StrEnum):
    """Values of :data:`JUDGEVAL_EVAL_STATUS`."""

    PENDING = "pending"
    """Tagged by the SDK or a rule; waiting for the evaluator. The only value the collector routes to it."""
    NOT_SELECTED = "not_selected"
    """Seen by the evaluator and not scored: the span asked for nothing and no rule selected it (none
    matched, or the rule's sampling left it out). Marks it as done, so a collector never routes it back."""
    SCORED = "scored"
    """Every requested scorer produced a score."""
    PARTIAL = "partial"
    """Some scorers produced a score, others failed (see :data:`JUDGEVAL_EVAL_ERROR`)."""
    FAILED = "failed"
    """No scorer produced a score; the span is exported anyway, marked with the reason."""


class EvalVerdict(StrEnum):
    """Values of :data:`JUDGEVAL_EVAL_VERDICT`."""

    PASS = "pass"
    """Every requested scorer produced a score and every score met its threshold."""
    FAIL = "fail"
    """At least one produced score missed its threshold (whatever happened to the other requests)."""
    ERROR = "error"
    """No produced score failed, but at least one request produced no score (see
    :data:`JUDGEVAL_EVAL_ERROR`): the span was not fully judged, so it claims neither pass nor fail."""


class ScoreLabel(StrEnum):
    """Values of ``gen_ai.evaluation.score.label`` that judgeval-otel writes."""

    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"


class SpanType(StrEnum):
    """``span_type`` values ``@observe`` knows; others are accepted and recorded as-is."""

    FUNCTION = "function"
    TOOL = "tool"
    LLM = "llm"
    AGENT = "agent"
    CHAIN = "chain"
    EVALUATION = "evaluation"


SPAN_TYPE_TO_OPERATION: Final[dict[str, GenAiOperationName]] = {
    SpanType.TOOL: GenAiOperationName.EXECUTE_TOOL,
    SpanType.AGENT: GenAiOperationName.INVOKE_AGENT,
}
"""``span_type`` values that have a GenAI semantic-convention operation."""

_SCORER_KEY_UNSAFE = re.compile(r"[^a-z0-9_]+")


@functools.lru_cache(maxsize=1024)  # the evaluator writes the same few scorers' keys on every span
def scorer_key(scorer_name: str) -> str:
    """The attribute-safe key of a scorer name: ``"Package Inquiry Scorer"`` → ``package_inquiry_scorer``."""
    key = _SCORER_KEY_UNSAFE.sub("_", scorer_name.strip().lower()).strip("_")
    return key or "unnamed"


def score_attribute(scorer_name: str, field: ScoreField) -> str:
    """Flat span attribute for one field of one scorer's result: ``judgeval.score.<key>.<field>``."""
    return f"{JUDGEVAL_SCORE_PREFIX}{scorer_key(scorer_name)}.{field.value}"

# --- judgeval namespace: judge calibration metrics (evaluator_service.calibration) -----------------------
# Gauges per ``scorer`` (:data:`SCORE_METRIC_LABEL_SCORER`), only for scorers with people's labels.
# "Positive" is a failure: sensitivity is the judge's true-positive rate (people's failures it failed).

METRIC_CALIBRATION_SENSITIVITY: Final = "judgeval.calibration.sensitivity"
"""Gauge: the judge's true-positive rate against people's labels (of labeled failures, the share failed)."""

METRIC_CALIBRATION_SPECIFICITY: Final = "judgeval.calibration.specificity"
"""Gauge: the judge's true-negative rate against people's labels (of labeled passes, the share it passed)."""

METRIC_CALIBRATION_OBSERVED_FAILURE_RATE: Final = "judgeval.calibration.observed_failure_rate"
"""Gauge: the share of the scorer's scores that failed over the calibration window."""

METRIC_CALIBRATION_CORRECTED_FAILURE_RATE: Final = "judgeval.calibration.corrected_failure_rate"
"""Gauge: the observed failure rate corrected for the judge's measured error (Rogan-Gladen), only while a
corrected rate can be given (enough labels, sensitivity + specificity > 1)."""

# --- judgeval namespace: scorer versions in shadow (metric recorded by the evaluator) -------------------
METRIC_SHADOW_OUTCOMES: Final = "judgeval.evaluator.shadow.outcomes"
"""Counter: production results of scorers with a version in shadow, by ``scorer`` and ``outcome`` (a
:class:`ShadowOutcome`): scored again by the shadow version, or why not. Shadow results never reach spans,
alerts or behaviors; this counter and ``judgeval scorers compare`` are where they show."""


class ShadowOutcome(StrEnum):
    """Values of the ``outcome`` attribute (:data:`SCORE_METRIC_LABEL_OUTCOME`) of
    :data:`METRIC_SHADOW_OUTCOMES`."""

    SCORED = "scored"
    """The shadow version scored the example; the pair is stored."""
    ERROR = "error"
    """The shadow version failed (crash, timeout, judge error); stored as an error on its side."""
    SKIPPED_OVERLOAD = "skipped_overload"
    """The shadow queue was full: the live span was not delayed, this comparison was given up."""
    SKIPPED_PINNED = "skipped_pinned"
    """The request pinned a version other than the current one: not a production result to compare."""
    SKIPPED_SCOPE = "skipped_scope"
    """A trajectory or session result: shadows run for span scorers only."""
    SKIPPED_PAUSED = "skipped_paused"
    """The scorer is paused."""
    SKIPPED_SAMPLED = "skipped_sampled"
    """Not in ``shadow.sample_rate`` (decided from the trace id, like the SDK's sampling)."""
    SKIPPED_SHUTDOWN = "skipped_shutdown"
    """Still queued or running when the evaluator stopped."""
    NOT_STORED = "not_stored"
    """Scored, but the state database refused the result for longer than the writer's buffer holds."""

# --- Datasets from production (evaluator_service/datasets) -------------------------------------------------
METRIC_DATASETS_RECORDS: Final = "judgeval.datasets.records"
"""Counter of interaction records a dataset rule selected, by ``dataset`` and ``outcome``: ``added``,
``unchanged`` (already in the dataset: the same span scored again) or ``dropped`` (with ``reason``:
``queue_full``, the write queue was at ``datasets.queue_size``; ``write_failed``, the database refused the
record itself; ``shutdown``, still queued when the evaluator stopped)."""

METRIC_DATASETS_REDACTIONS: Final = "judgeval.datasets.redactions"
"""Counter of PII replacements made before records were stored, by ``pattern`` (``email``, ``card``,
``phone``, ``bearer``, ``api_key`` or a configured pattern's name)."""

METRIC_DATASETS_QUEUE_DEPTH: Final = "judgeval.datasets.queue.depth"
"""Gauge of records waiting to be written to datasets."""

DATASET_METRIC_LABEL_DATASET: Final = "dataset"
DATASET_METRIC_LABEL_OUTCOME: Final = "outcome"
DATASET_METRIC_LABEL_REASON: Final = "reason"
DATASET_METRIC_LABEL_PATTERN: Final = "pattern"


# --- Jaeger's JSON model (read by the evaluator's backfill from Jaeger's query API, never written) -------
# Jaeger's query HTTP API (/api/traces) answers in its own model, where the OTLP span kind, status and
# instrumentation scope travel as tags of these names; the backfill reader turns them back into OTLP fields.

class JaegerModelTag(StrEnum):
    """Tags Jaeger derives from OTLP fields; the backfill reader turns them back into those fields."""

    SPAN_KIND = "span.kind"
    """The OTLP span kind in lower case (``client``, ``server``, ``internal``, ...)."""
    STATUS_CODE = "otel.status_code"
    """The OTLP status code (``OK`` or ``ERROR``; absent when unset)."""
    STATUS_DESCRIPTION = "otel.status_description"
    """The OTLP status message."""
    ERROR = "error"
    """True on spans whose OTLP status is ``ERROR``."""
    SCOPE_NAME = "otel.scope.name"
    """The instrumentation scope name."""
    SCOPE_VERSION = "otel.scope.version"
    """The instrumentation scope version."""
    LIBRARY_NAME = "otel.library.name"
    """The older spelling of :attr:`SCOPE_NAME` (Jaeger before 1.40 and some translators)."""
    LIBRARY_VERSION = "otel.library.version"
    """The older spelling of :attr:`SCOPE_VERSION`."""


JAEGER_EVENT_NAME_FIELD: Final = "event"
"""The field of a Jaeger span log that holds the OTLP event name."""


# --- judgeval namespace: backfill (evaluation results the evaluator writes for past spans) --------------

JUDGEVAL_BACKFILL_RUN_ID: Final = "judgeval.backfill.run_id"
"""On a backfill result span and log record: the id of the ``judgeval backfill`` run that wrote it."""

JUDGEVAL_BACKFILL_SCORED_SPAN_ID: Final = "judgeval.backfill.scored_span_id"
"""On a backfill result span: hex id of the span it scored (also its parent), so a search finds it."""
