"""Which version an upload gets, split from :mod:`evaluator_service.registry.store` along the seam between
the rule (here: pure, also run inside the database transaction that stores the version) and the store that
applies it: the upload modes, the name-clash and already-exists refusals, and :func:`choose_version`."""

from __future__ import annotations

import enum

from judgeval.semconv import scorer_key

from evaluator_service.errors import EvaluatorError
from evaluator_service.registry.validation import InvalidUpload
from evaluator_service.state import StoredScorer


class UploadMode(enum.Enum):
    """What an upload does when the name already exists."""

    CREATE = "create"
    OVERWRITE = "overwrite"
    NEW_VERSION = "new_version"


class ScorerExists(EvaluatorError):
    """The name is taken and the upload asked neither to overwrite nor to add a version."""


def choose_version(name: str, mode: UploadMode, same_key: list[StoredScorer]) -> int:
    """The version an upload of ``name`` gets, given every stored version sharing its attribute key."""
    key = scorer_key(name)
    clash = next((s.name for s in same_key if s.name != name), None)
    if clash is not None:
        raise InvalidUpload(
            f"scorer name {name!r} would share span attributes (judgeval.score.{key}.*) with the "
            f"existing scorer {clash!r}; choose another name or delete {clash!r} first"
        )
    latest = max((s.version for s in same_key), default=None)
    if latest is None:
        return 1
    if mode is UploadMode.CREATE:
        raise ScorerExists(
            f"a scorer named {name!r} already exists (latest version {latest}); "
            "upload with --overwrite to replace it or --new-version to add a version"
        )
    return latest + 1 if mode is UploadMode.NEW_VERSION else latest
