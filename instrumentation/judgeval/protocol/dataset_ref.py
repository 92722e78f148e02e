"""Dataset names and ``NAME@VERSION`` references, one rule for the evaluator, the CLI and ``Dataset.pull``.

A dataset name is 1-200 characters of letters, digits and ``._-/:`` (no spaces, no ``@``: the ``@``
separates the version in ``NAME@V``). A version is a positive integer; a reference without one means the
dataset's current version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from judgeval.errors import JudgevalError

__all__ = ["DatasetRef", "InvalidDatasetRef", "dataset_name_problem"]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-/:]{0,199}")


class InvalidDatasetRef(JudgevalError, ValueError):
    """A dataset name or ``NAME@V`` reference that breaks the rule; the message says how."""


def dataset_name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid dataset name, or ``None``."""
    if not name:
        return "a dataset name must not be empty"
    if _NAME.fullmatch(name) is None:
        return (f"invalid dataset name {name!r}: use 1-200 letters, digits and ._-/: "
                "(starting with a letter or digit; no spaces, no '@')")
    return None


@dataclass(frozen=True, slots=True)
class DatasetRef:
    """A dataset name and an optional version (``None``: the current one)."""

    name: str
    version: int | None = None

    @classmethod
    def parse(cls, text: str) -> DatasetRef:
        """``"name"`` or ``"name@3"``; :class:`InvalidDatasetRef` otherwise."""
        name, sep, version = text.partition("@")
        problem = dataset_name_problem(name)
        if problem is not None:
            raise InvalidDatasetRef(problem)
        if not sep:
            return cls(name)
        if not version.isdigit() or int(version) < 1:
            raise InvalidDatasetRef(f"invalid version {version!r} in {text!r}: use NAME@N with N >= 1")
        return cls(name, int(version))

    def __str__(self) -> str:
        return self.name if self.version is None else f"{self.name}@{self.version}"
