"""Wrong admin keys (issue 18, defect 8): each failure is logged with the client's address (rate-limited),
and a client that keeps guessing is refused with ``RESOURCE_EXHAUSTED`` for the rest of the window, while
other clients with the right key are served as before. Two listeners (IPv4 and IPv6 loopback) give the
test two real client addresses."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
import pytest
from judgeval.admin.v1 import scorer_admin_pb2 as pb
from judgeval.admin.v1 import scorer_admin_pb2_grpc as pb_grpc

from evaluator_service.admin import install_admin_service
from evaluator_service.admin.auth import AdminAuth
from evaluator_service.registry import Registry

from .admin_server import API_KEY

LIMIT = 5


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Listeners:
    ipv4: str
    ipv6: str
    clock: FakeClock


@pytest.fixture
async def listeners(registry: Registry) -> AsyncIterator[Listeners]:
    clock = FakeClock()
    server = grpc.aio.server()
    install_admin_service(server, registry, AdminAuth(API_KEY, failure_limit=LIMIT, window_s=60, clock=clock))
    v4 = server.add_insecure_port("127.0.0.1:0")
    v6 = server.add_insecure_port("[::1]:0")
    await server.start()
    yield Listeners(f"127.0.0.1:{v4}", f"[::1]:{v6}", clock)
    await server.stop(None)


async def list_scorers(target: str, key: str) -> grpc.StatusCode:
    async with grpc.aio.insecure_channel(target) as channel:
        try:
            await pb_grpc.ScorerAdminStub(channel).ListScorers(
                pb.ListScorersRequest(), metadata=(("authorization", f"Bearer {key}"),))
        except grpc.aio.AioRpcError as exc:
            return exc.code()
    return grpc.StatusCode.OK


async def test_guessing_client_is_logged_and_refused_others_are_not(listeners: Listeners, caplog) -> None:
    caplog.set_level(logging.INFO)
    guesses = [await list_scorers(listeners.ipv4, f"guess-{n}") for n in range(LIMIT + 20)]
    assert guesses[:LIMIT] == [grpc.StatusCode.UNAUTHENTICATED] * LIMIT
    assert set(guesses[LIMIT:]) == {grpc.StatusCode.RESOURCE_EXHAUSTED}
    # Refused without its key being checked, so the right key cannot be confirmed by guessing on...
    assert await list_scorers(listeners.ipv4, API_KEY) == grpc.StatusCode.RESOURCE_EXHAUSTED
    # ...while another client with the right key is served at once.
    assert await list_scorers(listeners.ipv6, API_KEY) == grpc.StatusCode.OK
    lines = [r.getMessage() for r in caplog.records if "admin" in r.getMessage()]
    assert lines and "failed admin authentication from 127.0.0.1: wrong API key" in lines[0]
    assert len(lines) < len(guesses), "the log is rate-limited per client"

    listeners.clock.now += 61  # the window has passed: the client may try again
    assert await list_scorers(listeners.ipv4, API_KEY) == grpc.StatusCode.OK


async def test_missing_keys_are_refused_but_do_not_lock_the_client_out(listeners: Listeners) -> None:
    async with grpc.aio.insecure_channel(listeners.ipv4) as channel:
        stub = pb_grpc.ScorerAdminStub(channel)
        for _ in range(LIMIT + 3):
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.ListScorers(pb.ListScorersRequest())
            assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert await list_scorers(listeners.ipv4, API_KEY) == grpc.StatusCode.OK
