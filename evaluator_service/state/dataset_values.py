"""The values the dataset part of the shared state reads and writes
(:mod:`~evaluator_service.state.dataset_rows`): a dataset's settings, a version's description, examples and
pages of them, a change, and the error for an unknown dataset.

A page of examples ends at a keyset cursor (:class:`ExampleCursor`, the last example's record time and id)
rather than an offset: the next page starts after it, so reading costs the same for the last page as for
the first, and a page never shifts when examples are added or removed meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass

from judgeval.protocol.interaction_record import InteractionRecord

from evaluator_service.errors import EvaluatorError

MAX_EXAMPLES_PER_PAGE = 1000


@dataclass(frozen=True, slots=True)
class DatasetSettings:
    """What an operator or a rule says about a dataset (its description and retention)."""

    description: str = ""
    max_examples: int | None = None
    """Keep at most this many examples (the newest by record time); ``None``: no bound."""
    max_age_s: float | None = None
    """Remove examples whose record is older than this; ``None``: keep them."""


@dataclass(frozen=True, slots=True)
class DatasetInfo:
    """A dataset as of one version: its settings and how many examples it held then."""

    name: str
    description: str
    created_at: float
    updated_at: float
    version: int
    """The version described (the current one unless a version was asked for)."""
    latest_version: int
    example_count: int
    max_examples: int | None = None
    max_age_s: float | None = None


@dataclass(frozen=True, slots=True)
class DatasetVersion:
    """One change: when, how many examples it added and removed, and why (``note``)."""

    version: int
    at: float
    added: int
    removed: int
    note: str


@dataclass(frozen=True, slots=True)
class DatasetExample:
    """One example of a dataset: the stored record and the versions it lived between."""

    record: InteractionRecord
    added_version: int
    removed_version: int | None = None

    @property
    def id(self) -> str:
        return self.record.id


@dataclass(frozen=True, slots=True)
class ExampleFilter:
    """Which examples of a page to return (``None``: any); ``outcome`` is passed, failed or error;
    ``unlabeled``: only examples nobody labeled yet (:mod:`~evaluator_service.state.dataset_labels`)."""

    scorer: str | None = None
    outcome: str | None = None
    behavior_id: str | None = None
    unlabeled: bool = False


@dataclass(frozen=True, slots=True, order=True)
class ExampleCursor:
    """Where a page of examples ended: its last example's record time and id (examples are ordered by
    both, and one version holds a record id once)."""

    at: float
    record_id: str


@dataclass(frozen=True, slots=True)
class ExamplePage:
    """Examples of one version of a dataset, oldest record first; ``next_after`` (``None`` at the end) is
    the cursor to pass for the next page."""

    version: int
    examples: list[DatasetExample]
    next_after: ExampleCursor | None


@dataclass(frozen=True, slots=True)
class DatasetChange:
    """What one write did: the dataset's version after it, examples added, already present, removed."""

    version: int
    added: int = 0
    unchanged: int = 0
    removed: int = 0


class UnknownDataset(EvaluatorError, LookupError):
    """No dataset of that name (or not that version); the message names it."""
