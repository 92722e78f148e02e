"""Reading a stored dataset for a replay, through the evaluator's ``judgeval.admin.v1.Datasets`` API.

``NAME`` reads the dataset's current version, ``NAME@V`` version ``V``; every page after the first asks for
the version the first page answered, so a dataset growing during the read (rules keep adding) never mixes
two versions into one replay.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import grpc

from judgeval.admin.v1 import datasets_pb2 as pb
from judgeval.admin.v1 import datasets_pb2_grpc as pb_grpc
from judgeval.evaluation.errors import EvaluationError
from judgeval.evaluation.remote import EvaluatorEndpoint, auth_metadata, explain_rpc_error, open_channel
from judgeval.protocol.dataset_ref import DatasetRef, InvalidDatasetRef
from judgeval.protocol.interaction_record import InteractionRecord

PAGE_SIZE = 1000
"""Examples per ``ListExamples`` call (the API's maximum)."""


@dataclass(frozen=True, slots=True)
class StoredDataset:
    """The records of one version of a stored dataset."""

    name: str
    version: int
    records: list[InteractionRecord]

    def __str__(self) -> str:
        return f"dataset {self.name}@{self.version}"


def read_dataset(endpoint: EvaluatorEndpoint, dataset: str, limit: int | None = None) -> StoredDataset:
    """The records of ``dataset`` (``NAME`` or ``NAME@V``), oldest first, at most ``limit``."""
    try:
        ref = DatasetRef.parse(dataset)
    except InvalidDatasetRef as exc:
        raise EvaluationError(str(exc), bad_input=True) from None
    channel = open_channel(endpoint)
    try:
        stub = pb_grpc.DatasetsStub(channel)
        return _read(stub, endpoint, ref, limit)
    except grpc.RpcError as exc:
        raise EvaluationError(explain_rpc_error(exc, endpoint.shown_url),
                              bad_input=exc.code() == grpc.StatusCode.INVALID_ARGUMENT) from None
    finally:
        channel.close()


def _read(stub: pb_grpc.DatasetsStub, endpoint: EvaluatorEndpoint, ref: DatasetRef,
          limit: int | None) -> StoredDataset:
    version, token = ref.version or 0, ""
    records: list[InteractionRecord] = []
    while limit is None or len(records) < limit:
        size = PAGE_SIZE if limit is None else min(PAGE_SIZE, limit - len(records))
        page = stub.ListExamples(pb.ListExamplesRequest(name=ref.name, version=version, page_token=token,
                                                        limit=size), metadata=auth_metadata(endpoint))
        version = page.version  # the token carries it too: the next pages read the same version
        for example in page.examples:
            records.append(_record(ref, example.record_json, len(records) + 1))
        if not page.next_page_token or not page.examples:
            break
        token = page.next_page_token
    return StoredDataset(ref.name, version, records)


def _record(ref: DatasetRef, text: str, number: int) -> InteractionRecord:
    try:
        return InteractionRecord.from_json(json.loads(text))
    except (ValueError, RecursionError) as exc:  # an evaluator of another version, say
        raise EvaluationError(f"dataset {ref}: record {number} is not an interaction record: {exc}") from None
