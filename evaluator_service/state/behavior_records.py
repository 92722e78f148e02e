"""What a behavior is as stored: its row types, the vocabulary of its lifecycle, and their SQL encoding.

A behavior is one row of ``judgeval_behaviors`` (what was grouped: centroid, members, examples, name) joined
with one row of ``judgeval_behavior_issues`` (what it means to operators: kind, lifecycle state, severity,
disposition, what it touches). The lifecycle states and event kinds are the stored vocabulary; the event
kinds have the same values as :class:`evaluator_service.behaviors.events.BehaviorEventKind` (a test pins
it), which the state layer may not import.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

MAX_NAME_CHARS = 200
"""Longest name an operator may give a behavior (the admin API and the console refuse longer ones)."""
MAX_EXAMPLES = 5
"""Example trace/span ids kept per behavior (the most recent ones)."""
MAX_TOUCHED = 20
"""Services and agents remembered per behavior (the first ones seen)."""

NAME_PROVISIONAL = "provisional"
"""Name source of a new behavior's salient-terms name."""
NAME_AUTO = "auto"
"""Name source of a name a chat model gave."""
NAME_OPERATOR = "operator"
"""Name source of an operator's rename; never replaced by a generated name."""

KIND_FAILURE = "failure"
"""A group of failing scores."""
KIND_ERROR = "error"
"""A group of scoring errors (the scorer produced no score), kept apart from failures."""
KIND_INPUT = "input"
"""A group of inputs among scored traffic (a pattern of requests, failing or not)."""
KINDS = (KIND_FAILURE, KIND_ERROR, KIND_INPUT)

STATE_NEW = "new"
STATE_ONGOING = "ongoing"
STATE_INCREASING = "increasing"
STATE_RESOLVED = "resolved"
STATE_REGRESSED = "regressed"
STATES = (STATE_NEW, STATE_ONGOING, STATE_INCREASING, STATE_RESOLVED, STATE_REGRESSED)

OPEN = "open"
"""Disposition of a behavior no operator has decided about: its lifecycle raises events."""
DISMISSED = "dismissed"
"""An operator dismissed it: still grouped, no lifecycle, no events, hidden from the default listing."""
EXPECTED = "expected"
"""An operator marked it as expected: lifecycle kept, no events."""
MERGED = "merged"
"""An operator merged it into ``merged_into``: new members join that behavior instead."""
DISPOSITIONS = (OPEN, DISMISSED, EXPECTED, MERGED)

EVENT_CREATED = "behavior.created"
EVENT_INCREASING = "behavior.increasing"
EVENT_RESOLVED = "behavior.resolved"
EVENT_REGRESSED = "behavior.regressed"

SEVERITIES = ("low", "medium", "high", "critical")


@dataclass(frozen=True, slots=True)
class BehaviorExample:
    """One member of a behavior, kept as evidence: where it is, why it failed, on what input.

    ``vector`` is the member's embedding (kept so an operator can split members off)."""

    trace_id: str
    span_id: str
    text: str
    reason: str = ""
    input: str = ""
    vector: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class StoredBehavior:
    """One behavior as stored: ``name_source`` is provisional (top terms), auto (a model) or operator."""

    id: str
    scorer: str
    space: str
    name: str
    name_source: str
    centroid: list[float]
    member_count: int
    first_seen: float
    last_seen: float
    examples: tuple[BehaviorExample, ...] = field(default_factory=tuple)
    kind: str = KIND_FAILURE
    state: str = STATE_NEW
    state_since: float = 0.0
    severity: str = "low"
    description: str = ""
    disposition: str = OPEN
    merged_into: str | None = None
    scorers: tuple[str, ...] = ()
    """Every scorer whose failures it holds (more than ``scorer`` after an operator's merge)."""
    services: tuple[str, ...] = ()
    agents: tuple[str, ...] = ()
    environments: tuple[str, ...] = ()
    """``deployment.environment.name`` values of its members' resources."""


@dataclass(frozen=True, slots=True)
class StoredBehaviorEvent:
    """One row of the event log; ``body`` holds the event's other fields (name, severity, state, ...)."""

    sequence: int
    event_id: str
    kind: str
    behavior_id: str
    at: float
    body: dict[str, Any]


def behavior_from_row(row: tuple[Any, ...]) -> StoredBehavior:
    """A :data:`~evaluator_service.state.schema.SELECT_BEHAVIOR` row as a :class:`StoredBehavior`."""
    (bid, scorer, space, name, source, centroid, count, first, last, examples,
     kind, state, since, severity, description, disposition, merged_into, scorers, services, agents,
     environments) = row
    return StoredBehavior(
        id=str(bid), scorer=str(scorer), space=str(space), name=str(name), name_source=str(source),
        centroid=[float(v) for v in json.loads(centroid)], member_count=int(count), first_seen=float(first),
        last_seen=float(last), examples=tuple(_example(e) for e in json.loads(examples)),
        kind=str(kind), state=str(state), state_since=float(since), severity=str(severity),
        description=str(description), disposition=str(disposition),
        merged_into=str(merged_into) if merged_into else None,
        scorers=tuple(json.loads(scorers)) or (str(scorer),), services=tuple(json.loads(services)),
        agents=tuple(json.loads(agents)), environments=tuple(json.loads(environments)),
    )


def behavior_row(b: StoredBehavior) -> tuple[Any, ...]:
    """Parameters of :data:`~evaluator_service.state.schema.INSERT_BEHAVIOR`."""
    return (b.id, b.scorer, b.space, b.name, b.name_source, dump_vector(b.centroid), b.member_count,
            b.first_seen, b.last_seen, dump_examples(b.examples))


def issue_row(b: StoredBehavior) -> tuple[Any, ...]:
    """Parameters of :data:`~evaluator_service.state.schema.INSERT_BEHAVIOR_ISSUE`."""
    return (b.id, b.kind, b.state, b.state_since, b.severity, b.description, b.disposition, b.merged_into,
            json.dumps(list(b.scorers)), json.dumps(list(b.services)), json.dumps(list(b.agents)),
            json.dumps(list(b.environments)))


def issue_update(b: StoredBehavior) -> tuple[Any, ...]:
    """Parameters of :data:`~evaluator_service.state.schema.UPDATE_BEHAVIOR_ISSUE`."""
    return (b.state, b.state_since, b.severity, b.disposition, b.merged_into, json.dumps(list(b.scorers)),
            json.dumps(list(b.services)), json.dumps(list(b.agents)), json.dumps(list(b.environments)), b.id)


def members_update(b: StoredBehavior) -> tuple[Any, ...]:
    """Parameters of :data:`~evaluator_service.state.schema.UPDATE_BEHAVIOR_MEMBERS`."""
    return (dump_vector(b.centroid), b.member_count, b.last_seen, dump_examples(b.examples), b.id)


def touched(current: tuple[str, ...], new: Iterable[str]) -> tuple[str, ...]:
    """``current`` plus the non-empty ``new`` values it lacks, at most :data:`MAX_TOUCHED`."""
    merged = list(current)
    for value in new:
        if value and value not in merged and len(merged) < MAX_TOUCHED:
            merged.append(value)
    return tuple(merged)


def dump_vector(vec: Iterable[float]) -> str:
    return json.dumps([round(v, 6) for v in vec])


def dump_examples(examples: tuple[BehaviorExample, ...]) -> str:
    return json.dumps([{"trace_id": e.trace_id, "span_id": e.span_id, "text": e.text, "reason": e.reason,
                        "input": e.input, "vector": [round(v, 4) for v in e.vector]} for e in examples])


def _example(data: dict[str, Any]) -> BehaviorExample:
    return BehaviorExample(
        trace_id=str(data["trace_id"]), span_id=str(data["span_id"]), text=str(data.get("text", "")),
        reason=str(data.get("reason", "")), input=str(data.get("input", "")),
        vector=tuple(float(v) for v in data.get("vector", ())),
    )
