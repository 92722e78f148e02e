"""Stored behaviors and their events as ``judgeval.admin.v1`` Behaviors API messages (the centroid and the
members' vectors stay internal)."""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp
from judgeval import semconv
from judgeval.admin.v1 import behaviors_pb2 as pb

from evaluator_service.behaviors.events import BehaviorEvent
from evaluator_service.state.behavior_records import (
    DISMISSED,
    EXPECTED,
    KIND_ERROR,
    KIND_FAILURE,
    KIND_INPUT,
    MERGED,
    NAME_AUTO,
    NAME_OPERATOR,
    NAME_PROVISIONAL,
    OPEN,
    StoredBehavior,
)
from evaluator_service.state.behavior_rows import BUCKET_S

_SOURCES = {NAME_PROVISIONAL: pb.NAME_SOURCE_PROVISIONAL, NAME_AUTO: pb.NAME_SOURCE_AUTO,
            NAME_OPERATOR: pb.NAME_SOURCE_OPERATOR}
_KINDS = {KIND_FAILURE: pb.BEHAVIOR_KIND_FAILURE, KIND_ERROR: pb.BEHAVIOR_KIND_ERROR,
          KIND_INPUT: pb.BEHAVIOR_KIND_INPUT}
DISPOSITIONS = {OPEN: pb.DISPOSITION_OPEN, DISMISSED: pb.DISPOSITION_DISMISSED,
                EXPECTED: pb.DISPOSITION_EXPECTED, MERGED: pb.DISPOSITION_MERGED}
"""Stored disposition -> API enum value."""


def behavior_message(b: StoredBehavior, trend: dict[int, int] | None = None) -> pb.Behavior:
    """The API's view of a stored behavior; ``trend`` is its members per bucket (see ``BUCKET_S``)."""
    return pb.Behavior(
        id=b.id, scorer=b.scorer, name=b.name,
        name_source=_SOURCES.get(b.name_source, pb.NAME_SOURCE_UNSPECIFIED), count=b.member_count,
        first_seen=timestamp(b.first_seen), last_seen=timestamp(b.last_seen),
        examples=[pb.BehaviorExample(trace_id=e.trace_id, span_id=e.span_id, text=e.text, reason=e.reason,
                                     input=e.input) for e in b.examples],
        kind=_KINDS.get(b.kind, pb.BEHAVIOR_KIND_UNSPECIFIED), state=b.state,
        state_since=timestamp(b.state_since), severity=b.severity, description=b.description,
        disposition=DISPOSITIONS.get(b.disposition, pb.DISPOSITION_UNSPECIFIED),
        merged_into=b.merged_into or "", scorers=list(b.scorers), services=list(b.services),
        agents=list(b.agents), environments=list(b.environments),
        trend=[pb.TrendBucket(start=timestamp(bucket * BUCKET_S), members=members)
               for bucket, members in sorted((trend or {}).items())],
    )


def event_message(e: BehaviorEvent) -> pb.BehaviorEvent:
    """The API's view of one logged lifecycle event."""
    return pb.BehaviorEvent(
        sequence=e.sequence, event_id=e.event_id, kind=e.kind.value, behavior_id=e.behavior_id, name=e.name,
        scorer=e.scorer, severity=e.severity, state=e.state, at=timestamp(e.at), member_count=e.member_count,
        services=list(e.services), agents=list(e.agents), example_trace_ids=list(e.example_trace_ids),
        behavior_kind=str(e.attributes.get("kind", "")),
        environment=str(e.attributes.get(semconv.DEPLOYMENT_ENVIRONMENT_NAME, "")),
    )


def timestamp(seconds: float) -> Timestamp:
    stamp = Timestamp()
    stamp.FromNanoseconds(int(seconds * 1e9))
    return stamp
