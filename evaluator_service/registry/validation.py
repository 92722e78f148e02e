"""Checks on an uploaded scorer before anything is stored or installed.

Every rejection is a :class:`InvalidUpload` whose message names the problem precisely enough for the
``judgeval`` CLI to print it as is.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass

from judgeval.scorers.source_check import ScorerSourceError, select_scorer_class
from packaging.requirements import InvalidRequirement, Requirement

from evaluator_service.errors import EvaluatorError

MAX_SOURCE_BYTES = 1024 * 1024
MAX_REQUIREMENTS_BYTES = 64 * 1024
MAX_NAME_CHARS = 200
# Module names an uploaded file may not take: it would shadow what the sandbox worker itself imports.
_RESERVED_MODULES = frozenset({"judgeval", "evaluator_service", "openai", "pydantic", "anthropic", "httpx"})
_UNSAFE_MODULE_CHARS = re.compile(r"[^A-Za-z0-9_]")


class InvalidUpload(EvaluatorError, ValueError):
    """The upload cannot be accepted; the message says what to fix."""


@dataclass(frozen=True, slots=True)
class ValidatedUpload:
    """An upload that passed every check, normalized for storage."""

    name: str
    class_name: str
    source: str
    source_filename: str
    requirements: str
    kind: str = "example"
    """``example`` or ``trace``: the scorer class's base (see :mod:`judgeval.scorers.source_check`)."""


def validate_upload(
    *, name: str, source: str, source_filename: str, requirements: str, class_name: str = "",
    declared_kind: str | None = None,
) -> ValidatedUpload:
    """Check sizes, file name, the scorer class and every requirement line; raise :class:`InvalidUpload`.

    The kind (example or trace scorer) is the class's, from its bases; an uploader that says otherwise
    (``declared_kind``) is refused rather than trusted."""
    if len(source.encode()) > MAX_SOURCE_BYTES:
        raise InvalidUpload(f"scorer source is larger than {MAX_SOURCE_BYTES // 1024} KiB")
    if len(requirements.encode()) > MAX_REQUIREMENTS_BYTES:
        raise InvalidUpload(f"requirements are larger than {MAX_REQUIREMENTS_BYTES // 1024} KiB")
    if not source.strip():
        raise InvalidUpload("scorer source is empty")
    filename = sanitize_filename(source_filename)
    try:
        found = select_scorer_class(source, filename, class_name or None)
    except ScorerSourceError as exc:
        raise InvalidUpload(str(exc)) from None
    if declared_kind is not None and declared_kind != found.kind:
        bases = {"example": "ExampleScorer", "trace": "TraceScorer"}
        raise InvalidUpload(
            f"{filename}: the upload says {found.class_name} is a{'n' if declared_kind == 'example' else ''} "
            f"{declared_kind} scorer, but it derives from {bases.get(found.kind, found.kind)}; upload it "
            "again with a judgeval CLI of this evaluator's version")
    final_name = (name or found.scorer_name or found.class_name).strip()
    validate_name(final_name)
    check_requirements(requirements)
    return ValidatedUpload(final_name, found.class_name, source, filename, requirements, found.kind)


def validate_name(name: str) -> None:
    """A scorer name is 1..200 printable characters."""
    if not name:
        raise InvalidUpload("scorer name is empty")
    if len(name) > MAX_NAME_CHARS:
        raise InvalidUpload(f"scorer name is longer than {MAX_NAME_CHARS} characters")
    if not name.isprintable():
        raise InvalidUpload("scorer name contains control characters")


def sanitize_filename(filename: str) -> str:
    """The base name as an importable ``module.py``; reserved module names are refused."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1].strip() or "scorer.py"
    stem = base[:-3] if base.endswith(".py") else base
    stem = _UNSAFE_MODULE_CHARS.sub("_", stem) or "scorer"
    if stem[0].isdigit():
        stem = f"_{stem}"
    if stem in _RESERVED_MODULES or stem in sys.stdlib_module_names:
        raise InvalidUpload(
            f"file name {base!r} would shadow the module {stem!r}; rename the scorer file"
        )
    return f"{stem}.py"


def check_requirements(requirements: str) -> list[Requirement]:
    """Parse each non-comment line as a PEP 508 requirement; pip options, URLs, paths, environment
    variable references and line continuations are refused."""
    parsed: list[Requirement] = []
    for number, raw in enumerate(requirements.splitlines(), start=1):
        # pip replaces ${NAME} with the installing process's environment (comments included, once joined
        # with a continued line): an upload could read the evaluator's secrets back through pip's errors.
        if "${" in raw or raw.rstrip().endswith("\\"):
            what = "'${...}'" if "${" in raw else "a line continuation ('\\' at the end)"
            raise InvalidUpload(
                f"requirements line {number}: {what} is not allowed; environment variables are never "
                "expanded in uploaded requirements, write each requirement out in full on one line"
            )
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-"):
            raise InvalidUpload(
                f"requirements line {number}: pip options such as {line.split()[0]!r} are not allowed; "
                "list package requirements only (e.g. 'openai>=1.40')"
            )
        try:
            requirement = Requirement(line)
        except InvalidRequirement as exc:
            raise InvalidUpload(
                f"requirements line {number}: {line!r} is not a valid requirement: {exc}"
            ) from None
        if requirement.url:
            raise InvalidUpload(
                f"requirements line {number}: direct URL references are not allowed ({requirement.url})"
            )
        parsed.append(requirement)
    return parsed


def normalized_requirements(requirements: str) -> str:
    """Canonical text of the requirements, used to share one environment between equal requirement sets."""
    return "\n".join(sorted(str(r) for r in check_requirements(requirements)))
