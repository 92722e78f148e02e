"""The dataset writer's per-record isolation and outage handling: a record PostgreSQL refuses fails alone
(counted ``write_failed``) while the rest of its batch is stored; a database that is down keeps the batch
queued until it answers again, losing nothing."""

from __future__ import annotations

from collections.abc import Sequence

from judgeval import semconv
from judgeval.protocol.interaction_record import InteractionRecord
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from evaluator_service.datasets.collector import DatasetCollector
from evaluator_service.datasets.settings import DatasetRule, DatasetsConfig
from evaluator_service.metrics import EvaluatorMetrics
from evaluator_service.state import StateUnavailable, open_shared_state
from evaluator_service.state.dataset_rows import DatasetChange, SqlDatasetRows
from tests.support.evaluator import metric_points
from tests.support.postgres_cluster import PostgresCluster


def record(n: int, scorer: str = "Tone") -> InteractionRecord:
    return InteractionRecord(scorer, f"{n:032x}", f"{n:016x}", float(n), {"input": "x"}, 0.5, 0.0, False)


def counted(reader: InMemoryMetricReader) -> dict[tuple[str, str | None], int]:
    points = metric_points(reader)[semconv.METRIC_DATASETS_RECORDS]
    return {(p.attributes["outcome"], p.attributes.get("reason")): p.value for p in points}


async def test_a_record_postgres_refuses_fails_alone(postgres: PostgresCluster) -> None:
    state = open_shared_state(postgres.url(postgres.new_database()))
    await state.open()
    reader = InMemoryMetricReader()
    collector = DatasetCollector(DatasetsConfig(rules=(DatasetRule("d", outcome="any"),)), state,
                                 EvaluatorMetrics(MeterProvider(metric_readers=[reader])))
    await collector.start()
    try:
        # PostgreSQL text cannot hold NUL: the scorer column refuses this one record
        collector.sink([record(1), record(2, scorer="bad\x00name"), record(3)])
        await collector.flush()
        collector.sink([record(4, scorer="\x00")])  # a batch of one refused record: dropped, not retried
        await collector.flush()
    finally:
        await collector.stop()
    page = await state.dataset_examples("d")
    await state.close()
    assert [e.record.span_id[-1] for e in page.examples] == ["1", "3"]
    assert counted(reader) == {("added", None): 2, ("dropped", "write_failed"): 2}


class FlakyDatasets(SqlDatasetRows):
    """The real SQL rows over SQLite, refusing every call (writes and the writer's probe) for a while."""

    def __init__(self, inner: SqlDatasetRows, refuse: int) -> None:
        self._inner = inner
        self.left = refuse
        self.refused: list[str] = []

    def _transaction(self):  # type: ignore[no-untyped-def]
        return self._inner._transaction()

    def _outage(self, what: str) -> None:
        if self.left > 0:
            self.left -= 1
            self.refused.append(what)
            raise StateUnavailable("state database sqlite:///x unreachable: test outage")

    async def datasets(self):  # type: ignore[no-untyped-def]
        self._outage("probe")
        return await super().datasets()

    async def add_dataset_examples(self, name: str, records: Sequence[InteractionRecord], now: float,
                                   note: str = "") -> DatasetChange:
        self._outage(f"add {len(records)}")
        return await super().add_dataset_examples(name, records, now, note)


async def test_an_unavailable_database_delays_the_batch_and_loses_nothing(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr("evaluator_service.datasets.collector.RETRY_AFTER_S", 0.01)
    state = open_shared_state(f"sqlite:///{tmp_path / 'state.sqlite3'}")
    await state.open()
    flaky = FlakyDatasets(state, refuse=4)  # type: ignore[arg-type]
    reader = InMemoryMetricReader()
    collector = DatasetCollector(DatasetsConfig(rules=(DatasetRule("d"),)), flaky,
                                 EvaluatorMetrics(MeterProvider(metric_readers=[reader])))
    await collector.start()
    try:
        collector.sink([record(1), record(2)])
        await collector.flush()
    finally:
        await collector.stop()
    # the batch, each record alone, then the probe: all refused, so the database is down; then it is back
    assert flaky.refused == ["add 2", "add 1", "add 1", "probe"]
    assert (await state.dataset("d")).example_count == 2
    await state.close()
    assert counted(reader) == {("added", None): 2}
