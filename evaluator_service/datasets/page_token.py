"""The page token of the Datasets and Calibration APIs: the version a read started on and the keyset cursor
where its last page ended, opaque to clients.

A token carries the version, so every later page reads the version the first one did even when the client
does not pass it back, and examples added meanwhile never appear in the middle of a read.
"""

from __future__ import annotations

import base64
import binascii
import json

from evaluator_service.errors import EvaluatorError
from evaluator_service.state.dataset_values import ExampleCursor


class BadPageToken(EvaluatorError, ValueError):
    """A page token this evaluator did not hand out (or one edited by hand)."""


def page_token(version: int, after: ExampleCursor | None) -> str:
    """The token of the next page (``""`` when there is none)."""
    if after is None:
        return ""
    text = json.dumps([version, after.at, after.record_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def read_page_token(token: str) -> tuple[int, ExampleCursor] | None:
    """``(version, cursor)`` of a token, ``None`` for ``""`` (the first page); :class:`BadPageToken`."""
    if not token:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, RecursionError):
        data = None
    if (not isinstance(data, list) or len(data) != 3 or type(data[0]) is not int or data[0] < 0
            or type(data[1]) not in (int, float) or not isinstance(data[2], str)):
        raise BadPageToken("page_token is not one this evaluator handed out; start again without it")
    return data[0], ExampleCursor(float(data[1]), data[2])


def continued_read(version: int, token: str) -> tuple[int | None, ExampleCursor | None]:
    """The version to read (``None``: the current one) and the cursor to read after, for a request naming
    ``version`` (0: any) and ``token``; :class:`BadPageToken` for a bad token or one of another version."""
    resumed = read_page_token(token)
    if resumed is None:
        return version or None, None
    if version and version != resumed[0]:
        raise BadPageToken(f"page_token continues a read of version {resumed[0]}, but version {version} "
                           "was asked for; start again without the token")
    return resumed
