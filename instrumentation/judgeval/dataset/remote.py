"""Reading a dataset from the evaluator's ``judgeval.admin.v1.Datasets`` API, page by page, one version.

The first page fixes the version (the current one unless asked for) and every later page's token carries
it, so a dataset changing while it is read is still read as one consistent version; pages are keyset
pages, so examples added meanwhile neither repeat nor skip one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
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
    chosen, records = version or 0, []
    for read, page in record_pages(client, name, version):
        chosen = read
        records.extend(page)
    return chosen, records


def record_pages(client: AdminClient, name: str, version: int | None = None
                 ) -> Iterator[tuple[int, list[InteractionRecord]]]:
    """``(version read, records of one page)`` per page of dataset ``name``, asked for only when the
    previous page was consumed (an export writes each page before the next is read); ``CliError``."""
    from judgeval.admin.v1 import datasets_pb2 as pb

    token = ""
    while True:
        page: Any = client.call("ListExamples", pb.ListExamplesRequest(
            name=name, version=version or 0, page_token=token, limit=PAGE_SIZE))
        yield page.version, [InteractionRecord.from_json(json.loads(e.record_json)) for e in page.examples]
        token = page.next_page_token
        if not token:
            return
