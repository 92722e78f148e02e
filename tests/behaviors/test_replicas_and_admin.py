"""Behaviors shared by replicas (one real PostgreSQL database), and the Behaviors admin API and CLI."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest
from judgeval import semconv
from judgeval.admin.v1 import behaviors_pb2 as pb
from judgeval.admin.v1 import behaviors_pb2_grpc as pb_grpc

from evaluator_service.admin.behaviors_servicer import behaviors_installer
from evaluator_service.app import EvaluatorApp, ServiceInstaller
from evaluator_service.behaviors.event_log import StateBehaviorEventLog
from evaluator_service.state import SharedState, open_shared_state
from tests.support.cli import run_cli
from tests.support.evaluator import export, running, wait_for
from tests.support.spans import make_request

from .failing_spans import API_KEY, PII, REFUND, SCORERS, behavior_of, no_refund_span, pii_span, scored


def installer(state: SharedState, key: str | None = API_KEY) -> ServiceInstaller:
    return behaviors_installer(state, key)


async def test_replicas_sharing_postgres_converge_on_one_behavior(make_config, receiver, postgres,
                                                                  tmp_path: Path) -> None:
    url = postgres.url(postgres.new_database())
    doc = {"scorers": SCORERS, "state_db": url}
    async with running(make_config(doc, data_dir=tmp_path / "a")) as a, \
            running(make_config(doc, data_dir=tmp_path / "b")) as b:
        # The same kind of failure reaches both replicas at once: the per-scorer lock lets one create.
        await asyncio.gather(export(a, make_request([pii_span(1)])), export(b, make_request([pii_span(2)])))
        first = await wait_for(receiver, scored(2))
        await export(b, make_request([pii_span(3)]))
        await export(a, make_request([no_refund_span(1)]))
        received = await wait_for(receiver, scored(4))
        events = await StateBehaviorEventLog(a._state).events_after(0)  # type: ignore[arg-type]
    pii = [behavior_of(s) for s in received if s.name.startswith("pii-")]
    assert len(pii) == 3 and len({bid for bid, _, _ in pii}) == 1
    assert [new for _, _, new in pii].count(True) == 1
    assert len({s.attributes[semconv.JUDGEVAL_EVAL_EVALUATOR] for s in first}) == 2  # one span each
    refund = next(behavior_of(s) for s in received if s.name.startswith("no-refund-"))
    assert refund[0] != pii[0][0] and refund[2] is True
    # One behavior.created per behavior in the shared log, whichever replica created it.
    assert sorted(e.behavior_id for e in events) == sorted([pii[0][0], refund[0]])
    assert {e.kind.value for e in events} == {"behavior.created"}


async def _call(app: EvaluatorApp, method: str, request, key: str | None = API_KEY):  # type: ignore[no-untyped-def]
    metadata = (("authorization", f"Bearer {key}"),) if key else ()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
        return await getattr(pb_grpc.BehaviorsStub(channel), method)(request, metadata=metadata, timeout=10)


async def _status_of(app: EvaluatorApp, method: str, request,  # type: ignore[no-untyped-def]
                     key: str | None = API_KEY) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _call(app, method, request, key)
    return caught.value.code()


async def test_admin_api_list_show_rename_with_and_without_the_key(make_config, receiver) -> None:
    config = make_config({"scorers": SCORERS})
    state = open_shared_state(config.state_db_url)
    async with running(config, shared_state=state, service_installers=[installer(state)]) as app:
        await export(app, make_request([no_refund_span(1), no_refund_span(2), pii_span(1)]))
        received = await wait_for(receiver, scored(3))

        listed = await _call(app, "ListBehaviors", pb.ListBehaviorsRequest())
        assert [(b.scorer, b.count) for b in listed.behaviors] == [(REFUND, 2), (PII, 1)]
        only_pii = await _call(app, "ListBehaviors", pb.ListBehaviorsRequest(scorer=PII))
        assert [b.scorer for b in only_pii.behaviors] == [PII]
        refund = listed.behaviors[0]
        shown = await _call(app, "GetBehavior", pb.GetBehaviorRequest(id=refund.id))
        expected = {s.trace_id for s in received if s.name.startswith("no-refund-")}
        assert {e.trace_id for e in shown.examples} == expected
        assert shown.name_source == pb.NAME_SOURCE_PROVISIONAL and shown.first_seen.seconds > 0

        rename = pb.RenameBehaviorRequest(id=refund.id, name="Refunds  refused")
        renamed = await _call(app, "RenameBehavior", rename)
        assert (renamed.name, renamed.name_source) == ("Refunds refused", pb.NAME_SOURCE_OPERATOR)
        await export(app, make_request([no_refund_span(3)]))
        later = await wait_for(receiver, scored(4))
        third = next(s for s in later if s.name == "no-refund-3")
        assert behavior_of(third) == (refund.id, "Refunds refused", False)

        assert await _status_of(app, "ListBehaviors", pb.ListBehaviorsRequest(), key=None) == (
            grpc.StatusCode.UNAUTHENTICATED)
        assert await _status_of(app, "RenameBehavior", pb.RenameBehaviorRequest(id=refund.id, name="x"),
                                key="wrong") == grpc.StatusCode.UNAUTHENTICATED
        assert await _status_of(app, "GetBehavior", pb.GetBehaviorRequest(id="bhv_nope")) == (
            grpc.StatusCode.NOT_FOUND)
        assert await _status_of(app, "RenameBehavior", pb.RenameBehaviorRequest(id=refund.id, name=" ")) == (
            grpc.StatusCode.INVALID_ARGUMENT)
        still = await _call(app, "GetBehavior", pb.GetBehaviorRequest(id=refund.id))
        assert still.name == "Refunds refused"
    await state.close()


async def test_an_evaluator_without_a_key_refuses_the_behaviors_api(make_config) -> None:
    config = make_config({})
    state = open_shared_state(config.state_db_url)
    async with running(config, shared_state=state, service_installers=[installer(state, None)]) as app:
        assert await _status_of(app, "ListBehaviors", pb.ListBehaviorsRequest()) == (
            grpc.StatusCode.FAILED_PRECONDITION)
    await state.close()


async def test_cli_lists_shows_and_renames(make_config, receiver) -> None:
    config = make_config({"scorers": SCORERS})
    state = open_shared_state(config.state_db_url)
    async with running(config, shared_state=state, service_installers=[installer(state)]) as app:
        env = {"JUDGMENT_API_URL": f"127.0.0.1:{app.port}", "JUDGMENT_API_KEY": API_KEY}
        await export(app, make_request([no_refund_span(1), pii_span(1)]))
        received = await wait_for(receiver, scored(2))
        pii_id, _, _ = behavior_of(next(s for s in received if s.name == "pii-1"))

        listed = await run_cli("behaviors", "list", env=env)
        assert listed.code == 0, listed.stderr
        assert pii_id in listed.stdout and "missing: refund" in listed.stdout
        filtered = await run_cli("behaviors", "list", "--scorer", PII, env=env)
        assert pii_id in filtered.stdout and REFUND not in filtered.stdout
        shown = await run_cli("behaviors", "show", pii_id, env=env)
        pii_trace = next(s.trace_id for s in received if s.name == "pii-1")
        assert f"trace {pii_trace}" in shown.stdout and "(provisional)" in shown.stdout
        renamed = await run_cli("behaviors", "rename", pii_id, "Leaks e-mail addresses", env=env)
        assert renamed.stdout.strip() == f"Renamed behavior {pii_id} to 'Leaks e-mail addresses'"

        missing = await run_cli("behaviors", "show", "bhv_nope", env=env)
        wrong_key = await run_cli("behaviors", "list", env={**env, "JUDGMENT_API_KEY": "wrong"})
    for result, fragment in ((missing, "no behavior 'bhv_nope'"), (wrong_key, "rejected the API key")):
        assert result.code == 1 and "Traceback" not in result.stderr
        assert result.stderr.startswith("judgeval: error: ") and fragment in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    await state.close()
