"""The client side of the evaluator's ``judgeval.admin.v1.Evaluation`` API.

Sends the cases to score in calls of at most
:data:`CASES_PER_CALL` cases (and :data:`BYTES_PER_CALL` of examples), reads each call's stream of
results, and reports every result as it arrives (the progress bar). The first call pins the uploaded
version it ran, so a version uploaded mid-run never mixes in. gRPC failures become
:class:`~judgeval.evaluation.errors.EvaluationError` with what to do.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc

from judgeval.admin.v1 import evaluation_pb2 as pb
from judgeval.admin.v1 import evaluation_pb2_grpc as pb_grpc
from judgeval.environment_variables import JUDGMENT_API_KEY, JUDGMENT_API_URL
from judgeval.evaluation.errors import EvaluationError

DEFAULT_API_URL = "localhost:4320"
CASES_PER_CALL = 500
BYTES_PER_CALL = 16 * 1024 * 1024
"""Below the evaluator's 64 MiB message limit with room to spare."""


@dataclass(frozen=True, slots=True)
class EvaluatorEndpoint:
    """Where the evaluator's admin API is and its key, resolved argument > environment > default."""

    target: str
    secure: bool
    api_key: str
    shown_url: str

    @classmethod
    def resolve(cls, api_url: str | None = None, api_key: str | None = None) -> EvaluatorEndpoint:
        url = (api_url or os.environ.get(JUDGMENT_API_URL) or DEFAULT_API_URL).strip()
        key = api_key if api_key is not None else os.environ.get(JUDGMENT_API_KEY, "")
        if not key:
            raise EvaluationError(f"no API key: set {JUDGMENT_API_KEY}=<key> (the evaluator's key) or pass "
                                  "api_key", bad_input=True)
        return cls(url.split("://", 1)[-1].rstrip("/"), url.startswith("https://"), key, url)


@dataclass(frozen=True, slots=True)
class CaseToScore:
    """One example to send, under the id its result comes back with."""

    id: str
    example: dict[str, Any]
    threshold: float
    production_passed: bool | None = None
    """The stored production verdict, sent so the evaluator's record of the run can compare with it."""


@dataclass(frozen=True, slots=True)
class RunOrigin:
    """Where a run's cases come from, recorded by the evaluator with the run (the console lists runs): a
    stored dataset's name and version, or ``""`` for records the client has of its own."""

    dataset: str = ""
    dataset_version: int | None = None
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)


@dataclass(frozen=True, slots=True)
class ScorerSpec:
    """The scorer to run: its name, an uploaded version (``None``: the latest), its config."""

    name: str
    version: int | None = None
    config: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ScoredCase:
    """The evaluator's answer for one case."""

    score: float | None
    passed: bool | None
    reason: str
    error_kind: str | None


@dataclass(frozen=True, slots=True)
class RemoteRun:
    """What the evaluator ran and its answers by case id."""

    scorer: str
    scorer_version: int
    scorer_source: str
    results: dict[str, ScoredCase]


def open_channel(endpoint: EvaluatorEndpoint) -> grpc.Channel:
    """A gRPC channel to the evaluator's admin endpoint (TLS for an ``https://`` URL)."""
    if endpoint.secure:
        return grpc.secure_channel(endpoint.target, grpc.ssl_channel_credentials())
    return grpc.insecure_channel(endpoint.target)


def auth_metadata(endpoint: EvaluatorEndpoint) -> tuple[tuple[str, str]]:
    """The call metadata carrying the admin key."""
    return (("authorization", f"Bearer {endpoint.api_key}"),)


def score_remotely(endpoint: EvaluatorEndpoint, scorer: ScorerSpec, cases: Sequence[CaseToScore],
                   on_result: Callable[[], None] = lambda: None, origin: RunOrigin | None = None
                   ) -> RemoteRun:
    """Score ``cases`` with ``scorer`` on the evaluator; ``on_result`` is called once per answered case.
    All calls carry ``origin`` (one run id), so the evaluator records them as one run."""
    origin = origin or RunOrigin()
    channel = open_channel(endpoint)
    stub = pb_grpc.EvaluationStub(channel)
    metadata = auth_metadata(endpoint)
    started: pb.EvaluationStarted | None = None
    version = scorer.version
    config = json.dumps(scorer.config) if scorer.config else ""
    results: dict[str, ScoredCase] = {}
    try:
        for batch in _batches(cases):
            request = pb.RunEvaluationRequest(scorer=scorer.name, scorer_version=version, cases=batch,
                                              scorer_config_json=config, run_id=origin.run_id,
                                              dataset=origin.dataset, dataset_version=origin.dataset_version,
                                              run_cases=len(cases))
            for event in stub.RunEvaluation(request, metadata=metadata):
                kind = event.WhichOneof("event")
                if kind == "started":
                    started = started or event.started
                    if event.started.scorer_source == "uploaded":
                        version = event.started.scorer_version  # the next calls run the same version
                elif kind == "result":
                    results[event.result.id] = _scored(event.result)
                    on_result()
    except grpc.RpcError as exc:
        raise EvaluationError(explain_rpc_error(exc, endpoint.shown_url)) from None
    finally:
        channel.close()
    assert started is not None  # every successful call starts with it
    return RemoteRun(started.scorer, started.scorer_version, started.scorer_source, results)


def _batches(cases: Sequence[CaseToScore]) -> Iterator[list[pb.EvaluationCase]]:
    batch: list[pb.EvaluationCase] = []
    size = 0
    for case in cases:
        message = pb.EvaluationCase(id=case.id, example_json=json.dumps(case.example, default=str),
                                    threshold=case.threshold, production_passed=case.production_passed)
        if batch and (len(batch) >= CASES_PER_CALL or size + message.ByteSize() > BYTES_PER_CALL):
            yield batch
            batch, size = [], 0
        batch.append(message)
        size += message.ByteSize()
    if batch:
        yield batch


def _scored(result: pb.CaseResult) -> ScoredCase:
    if result.error_kind:
        return ScoredCase(None, None, result.reason, result.error_kind)
    return ScoredCase(result.score if result.HasField("score") else None,
                      result.passed if result.HasField("passed") else None, result.reason, None)


def explain_rpc_error(exc: grpc.RpcError, url: str) -> str:
    """What a failed admin call means for the user, and what to do."""
    code, details = exc.code(), exc.details() or ""
    if code == grpc.StatusCode.UNAVAILABLE:
        return (f"cannot reach the evaluator at {url} ({details}); start it or set "
                f"{JUDGMENT_API_URL}=host:port (or pass --api-url) to its admin endpoint")
    if code == grpc.StatusCode.UNAUTHENTICATED:
        return (f"the evaluator at {url} rejected the API key ({details}); set {JUDGMENT_API_KEY} to the key "
                "the evaluator was started with")
    if code == grpc.StatusCode.UNIMPLEMENTED:
        return (f"{url} does not serve the judgeval evaluation API (an older evaluator?); "
                f"check {JUDGMENT_API_URL}")
    return details or f"the evaluator answered {code.name}"
