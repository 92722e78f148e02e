"""``Dataset``: production examples kept by the evaluator, loaded into ``Example`` objects and pandas.

::

    from judgeval.dataset import Dataset

    failures = Dataset.pull("tone-failures")                  # current version; or version=3
    for example in Dataset.pull("tone-failures", example_class=CustomerRequest).examples:
        example.request, example.interaction.score, example.interaction.reason

    Dataset.from_file("tone-failures.parquet").to_pandas()     # an export (jsonl, csv or parquet)

``pull`` reaches the evaluator's admin API exactly as the ``judgeval`` CLI does: ``api_url`` / ``api_key``
arguments, else ``JUDGMENT_API_URL`` / ``JUDGMENT_API_KEY``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import ValidationError

from judgeval.data.example import Example
from judgeval.dataset.files import DatasetError, format_of, read_records, write_records
from judgeval.protocol.dataset_ref import DatasetRef, InvalidDatasetRef
from judgeval.protocol.interaction_record import InteractionRecord

E = TypeVar("E", bound=Example)


@dataclass
class Dataset(Generic[E]):
    """Interaction records of one dataset version, and the examples built from them."""

    name: str
    version: int | None
    """The version pulled (``None`` for a dataset read from a file)."""
    records: list[InteractionRecord]
    example_class: type[E] = field(default=Example)  # type: ignore[assignment]
    examples: list[E] = field(init=False)
    """One ``example_class`` instance per record, from the record's example fields; each example's
    :attr:`~judgeval.data.Example.interaction` is its record."""

    def __post_init__(self) -> None:
        self.examples = [_example(self.example_class, r) for r in self.records]

    @classmethod
    def pull(cls, name: str, version: int | None = None, example_class: type[E] = Example,  # type: ignore[assignment]
             *, api_url: str | None = None, api_key: str | None = None) -> Dataset[E]:
        """Dataset ``name`` (``"name@3"`` works too) at ``version`` (current if ``None``) from the
        evaluator; :class:`DatasetError` says why it could not."""
        from judgeval.cli.admin_client import CliError
        from judgeval.dataset.remote import datasets_client, pull_records

        try:
            ref = DatasetRef.parse(name)
        except InvalidDatasetRef as exc:
            raise DatasetError(str(exc)) from None
        if version is not None and ref.version is not None and version != ref.version:
            raise DatasetError(f"{name!r} names version {ref.version} but version={version} was passed")
        try:
            client = datasets_client(api_url, api_key)
            try:
                chosen, records = pull_records(client, ref.name, version or ref.version)
            finally:
                client.close()
        except CliError as exc:
            raise DatasetError(f"cannot pull dataset {ref.name!r}: {exc}") from None
        return cls(ref.name, chosen, records, example_class)

    @classmethod
    def from_file(cls, path: str | Path, example_class: type[E] = Example,  # type: ignore[assignment]
                  *, format: str | None = None) -> Dataset[E]:
        """A dataset exported with ``judgeval datasets export`` (format from the suffix unless given)."""
        return cls(Path(path).stem, None, read_records(path, format), example_class)

    def save(self, path: str | Path, format: str | None = None) -> int:
        """Write the records (jsonl, csv or parquet, from the suffix unless given); returns how many."""
        return write_records(self.records, Path(path), format_of(path, format))

    def to_pandas(self) -> Any:
        """A ``pandas.DataFrame``: one row per record, its fields as columns and each example field as an
        ``example.<name>`` column. Needs pandas (``pip install pandas``)."""
        try:
            import pandas
        except ImportError:
            raise DatasetError("to_pandas() needs pandas: pip install pandas") from None
        rows = []
        for record in self.records:
            row = {k: v for k, v in record.to_json().items() if k != "example"}
            row.update({f"example.{k}": v for k, v in record.example.items()})
            rows.append(row)
        return pandas.DataFrame(rows)

    def __len__(self) -> int:
        return len(self.records)


def _example(example_class: type[E], record: InteractionRecord) -> E:
    try:
        example = example_class.model_validate(record.example)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(example)'}: {e['msg']}"
                             for e in exc.errors())
        raise DatasetError(f"record {record.id}: its example does not fit {example_class.__name__} "
                           f"({problems})") from None
    example._interaction = record
    return example

