"""Backfill claims in the shared state, on SQLite and PostgreSQL: one holder wins a span, a done span is
never claimed again (any holder, any run), a released or stale claim can be taken, versions are apart."""

from __future__ import annotations

from evaluator_service.state import open_shared_state

KEY = ("Package Inquiry Scorer", "3", "a" * 32, "b" * 16)


async def test_one_holder_claims_a_span_and_done_is_forever(state_url: str) -> None:
    first, second = open_shared_state(state_url), open_shared_state(state_url)
    await first.open()
    await second.open()
    try:
        assert await first.claim_backfill_span(*KEY, "run-1", "run-1", now=100.0, lease_s=60)
        assert not await second.claim_backfill_span(*KEY, "run-2", "run-2", now=101.0, lease_s=60)
        assert await second.backfilled_spans(*KEY[:3]) == set()  # claimed is not done
        await first.finish_backfill_span(*KEY, "run-1")
        assert await second.backfilled_spans(*KEY[:3]) == {KEY[3]}
        assert not await second.claim_backfill_span(*KEY, "run-2", "run-2", now=10_000.0, lease_s=60)
        # another version of the scorer is another key
        other = (KEY[0], "4", KEY[2], KEY[3])
        assert await second.claim_backfill_span(*other, "run-2", "run-2", now=101.0, lease_s=60)
        assert await first.backfilled_spans(*other[:3]) == set()
    finally:
        await first.close()
        await second.close()


async def test_released_and_stale_claims_can_be_taken(state_url: str) -> None:
    state = open_shared_state(state_url)
    await state.open()
    try:
        assert await state.claim_backfill_span(*KEY, "run-1", "run-1", now=100.0, lease_s=60)
        await state.release_backfill_span(*KEY, "run-1")
        assert await state.claim_backfill_span(*KEY, "run-2", "run-2", now=101.0, lease_s=60)
        assert not await state.claim_backfill_span(*KEY, "run-3", "run-3", now=150.0, lease_s=60)
        assert await state.claim_backfill_span(*KEY, "run-3", "run-3", now=200.0, lease_s=60)  # run-2 died
        await state.finish_backfill_span(*KEY, "run-2")  # the late holder cannot finish what it lost
        assert await state.backfilled_spans(*KEY[:3]) == set()
        await state.finish_backfill_span(*KEY, "run-3")
        assert await state.backfilled_spans(*KEY[:3]) == {KEY[3]}
    finally:
        await state.close()
