"""People's labels on dataset records and per-scorer outcome counts, on SQLite and PostgreSQL: what one
replica stores, another reads; a record labeled again keeps one (the newest) label."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from judgeval.protocol.interaction_record import InteractionRecord

from evaluator_service.state import SharedState, open_shared_state
from evaluator_service.state.dataset_labels import DatasetLabel, HumanLabel
from evaluator_service.state.scorer_outcome_counts import ScorerCountRow


@pytest.fixture
async def replicas(state_url: str) -> AsyncIterator[tuple[SharedState, SharedState]]:
    first, second = open_shared_state(state_url), open_shared_state(state_url)
    await asyncio.gather(first.open(), second.open())
    yield first, second
    await first.close()
    await second.close()


def _label(record: str, label: HumanLabel, judge: bool | None, *, dataset: str = "support",
           scorer: str = "polite", at: float = 1.0, note: str = "") -> DatasetLabel:
    return DatasetLabel(dataset, f"{record}:{scorer}", scorer, label, judge, "ann@example.com", note, at)


async def test_labels_are_shared_replaced_and_read_by_dataset_and_scorer(
    replicas: tuple[SharedState, SharedState]
) -> None:
    a, b = replicas
    await a.put_labels([
        _label("t1:s1", HumanLabel.FAIL, False, at=1.0, note="rude"),
        _label("t2:s2", HumanLabel.PASS, None, at=2.0),
        _label("t3:s3", HumanLabel.PASS, True, dataset="refunds", at=3.0),
        _label("t4:s4", HumanLabel.FAIL, True, scorer="faithful", at=4.0),
    ])
    got = await b.dataset_labels("support")
    assert [(x.record_id, x.label, x.judge_passed, x.note) for x in got] == [
        ("t1:s1:polite", HumanLabel.FAIL, False, "rude"), ("t2:s2:polite", HumanLabel.PASS, None, ""),
        ("t4:s4:faithful", HumanLabel.FAIL, True, "")]
    assert got[0] == _label("t1:s1", HumanLabel.FAIL, False, at=1.0, note="rude")
    assert [x.record_id for x in await b.scorer_labels("polite")] == [
        "t1:s1:polite", "t2:s2:polite", "t3:s3:polite"]
    assert [x.record_id for x in await b.scorer_labels("polite", "refunds")] == ["t3:s3:polite"]
    assert await b.labeled_scorers() == ["faithful", "polite"]

    await b.put_labels([_label("t1:s1", HumanLabel.PASS, False, at=5.0, note="on second look")])
    relabeled = [x for x in await a.dataset_labels("support") if x.record_id == "t1:s1:polite"]
    assert [(x.label, x.note, x.at) for x in relabeled] == [(HumanLabel.PASS, "on second look", 5.0)]
    assert await a.delete_label("support", "t1:s1:polite") is True
    assert await a.delete_label("support", "t1:s1:polite") is False
    assert len(await b.dataset_labels("support")) == 2
    assert await b.dataset_labels("nothing") == [] and await b.scorer_labels("nobody") == []


async def test_outcome_counts_from_two_replicas_add_up_within_the_window(
    replicas: tuple[SharedState, SharedState]
) -> None:
    a, b = replicas
    await a.add_scorer_counts([ScorerCountRow("polite", 60, 10, 2), ScorerCountRow("polite", 120, 5, 5)])
    await b.add_scorer_counts([ScorerCountRow("polite", 120, 5, 1), ScorerCountRow("other", 120, 7, 7)])
    assert await a.scorer_counts("polite", 0) == (20, 8)
    assert await b.scorer_counts("polite", 120) == (10, 6)
    assert await b.scorer_counts("nobody", 0) == (0, 0)
    await a.prune_scorer_counts(120)
    assert await b.scorer_counts("polite", 0) == (10, 6)


async def test_live_dataset_records_are_what_labels_are_checked_against(
    replicas: tuple[SharedState, SharedState]
) -> None:
    a, b = replicas
    records = [InteractionRecord(scorer="polite", trace_id=f"{n:032x}", span_id=f"{n:016x}", at=float(n),
                                 example={"input": "hi"}, threshold=0.5, score=0.0, passed=False)
               for n in (1, 2)]
    await a.add_dataset_examples("support", records, 1.0)
    await a.remove_dataset_examples("support", [records[1].id], 2.0)
    found = await b.live_dataset_records("support", [records[0].id, records[1].id, "x:y:z", records[0].id])
    assert found == {records[0].id: records[0]}
    assert await b.live_dataset_records("other", [records[0].id]) == {}
