"""A state database outage while replicas run: nothing raises into scoring, a pause decided meanwhile
holds on the replica that decided it and reaches the database once it is back."""

from __future__ import annotations

import pytest

from evaluator_service.scoring.pause import PauseRegistry
from evaluator_service.state import StateUnavailable, open_shared_state
from tests.support.postgres_cluster import PostgresCluster, set_reachable


async def test_pause_during_an_outage_holds_locally_and_is_written_when_the_database_returns(
    postgres: PostgresCluster, caplog: pytest.LogCaptureFixture
) -> None:
    database = postgres.new_database()
    url = postgres.url(database, password="outage-secret")
    state, other = open_shared_state(url), open_shared_state(url)
    await state.open()
    pauses = PauseRegistry(state)
    await pauses.load()
    try:
        set_reachable(postgres, database, False)
        await pauses.pause("judge", "judge answered 401")  # must not raise into the scorer runner
        assert pauses.reason("judge") == "judge answered 401"
        with pytest.raises(StateUnavailable, match=r"postgresql://postgres:\*\*\*@") as caught:
            await pauses.refresh()
        assert "outage-secret" not in str(caught.value) + caplog.text
        set_reachable(postgres, database, True)
        await pauses.refresh()
        await other.open()
        assert [(p.name, p.reason) for p in await other.paused_scorers()] == [("judge", "judge answered 401")]
    finally:
        set_reachable(postgres, database, True)
        await pauses.close()
        await state.close()
        await other.close()
