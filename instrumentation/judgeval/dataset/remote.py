"""Reading a dataset from the evaluator's ``judgeval.admin.v1.Datasets`` API, page by page, one version.

The first page fixes the version (the current one unless asked for), every later page asks for that same
version, so a dataset changing while it is read is still read as one consistent version.
"""

from __future__ import annotations

import json
from typing import Any

from judgeval.cli.admin_client import AdminClient, Connection
from judgeval.protocol.interaction_record import InteractionRecord

PAGE_SIZE = 1000


def datasets_client(api_url: str | None, api_key: str | None) -> AdminClient:
    """An admin client for the Datasets API, resolved like the CLI's (flag > ``JUDGMENT_API_*`` env)."""
    from judgeval.admin.v1 import datasets_pb2_grpc as pb_grpc

    return AdminClient(Connection.resolve(api_url, api_key), stub_factory=pb_grpc.DatasetsStub,
                       api_name="judgeval datasets API")


def pull_records(client: AdminClient, name: str, version: int | None = None
                 ) -> tuple[int, list[InteractionRecord]]:
    """``(version read, records)`` of dataset ``name``; raises ``CliError`` with the evaluator's reason."""
    from judgeval.admin.v1 import datasets_pb2 as pb

    records: list[InteractionRecord] = []
    offset, chosen = 0, version or 0
    while True:
        page: Any = client.call("ListExamples", pb.ListExamplesRequest(
            name=name, version=chosen, offset=offset, limit=PAGE_SIZE))
        chosen = page.version
        records.extend(InteractionRecord.from_json(json.loads(e.record_json)) for e in page.examples)
        if page.next_offset < 0:
            return chosen, records
        offset = page.next_offset
