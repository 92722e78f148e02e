"""Behaviors as issues through a running evaluator: the admin API's lifecycle fields, operator actions and
event log over gRPC, and the same through the ``judgeval behaviors`` CLI (tables and --json)."""

from __future__ import annotations

import asyncio
import json

import grpc
import pytest
from judgeval import semconv
from judgeval.admin.v1 import behaviors_pb2 as pb
from judgeval.admin.v1 import behaviors_pb2_grpc as pb_grpc

from evaluator_service.admin.behaviors_servicer import behaviors_installer
from evaluator_service.app import EvaluatorApp
from evaluator_service.state import open_shared_state
from tests.support.cli import run_cli, run_cli_into_closed_pipe
from tests.support.evaluator import export, running, wait_for
from tests.support.spans import make_request

from .failing_spans import API_KEY, PII, REFUND, SCORERS, behavior_of, no_refund_span, pii_span, scored


async def call(app: EvaluatorApp, method: str, request):  # type: ignore[no-untyped-def]
    async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
        return await getattr(pb_grpc.BehaviorsStub(channel), method)(
            request, metadata=(("authorization", f"Bearer {API_KEY}"),), timeout=10)


async def status_of(app: EvaluatorApp, method: str, request) -> grpc.StatusCode:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(app, method, request)
    return caught.value.code()


async def test_api_shows_lifecycle_and_applies_operator_actions(make_config, receiver) -> None:
    config = make_config({"scorers": SCORERS})
    state = open_shared_state(config.state_db_url)
    async with running(config, shared_state=state, service_installers=[behaviors_installer(state, API_KEY)]
                       ) as app:
        await export(app, make_request([no_refund_span(1), no_refund_span(2), pii_span(1)]))
        received = await wait_for(receiver, scored(3))
        refund_id = behavior_of(next(s for s in received if s.name == "no-refund-1"))[0]
        pii_id = behavior_of(next(s for s in received if s.name == "pii-1"))[0]

        shown = await call(app, "GetBehavior", pb.GetBehaviorRequest(id=refund_id))
        assert (shown.state, shown.severity, shown.kind) == ("new", "low", pb.BEHAVIOR_KIND_FAILURE)
        assert shown.disposition == pb.DISPOSITION_OPEN and list(shown.scorers) == [REFUND]
        assert sum(t.members for t in shown.trend) == 2 and shown.description == 'missing "refund"'
        assert {e.input for e in shown.examples} == {"My order is late, I want my money back"}
        assert all(e.reason for e in shown.examples)

        events = await call(app, "ListBehaviorEvents", pb.ListBehaviorEventsRequest())
        assert sorted((e.kind, e.behavior_id) for e in events.events) == sorted(
            [("behavior.created", refund_id), ("behavior.created", pii_id)])
        assert [e.sequence for e in events.events] == [1, 2] and events.events[0].behavior_kind == "failure"
        rest = await call(app, "ListBehaviorEvents", pb.ListBehaviorEventsRequest(after_sequence=1, limit=5))
        assert [e.sequence for e in rest.events] == [2]

        dismissed = await call(app, "SetDisposition", pb.SetDispositionRequest(
            id=pii_id, disposition=pb.DISPOSITION_DISMISSED))
        assert dismissed.disposition == pb.DISPOSITION_DISMISSED
        listed = await call(app, "ListBehaviors", pb.ListBehaviorsRequest())
        assert [b.id for b in listed.behaviors] == [refund_id]
        everything = await call(app, "ListBehaviors", pb.ListBehaviorsRequest(include_closed=True))
        assert {b.id for b in everything.behaviors} == {refund_id, pii_id}
        assert await status_of(app, "SetDisposition", pb.SetDispositionRequest(
            id=pii_id, disposition=pb.DISPOSITION_MERGED)) == grpc.StatusCode.INVALID_ARGUMENT

        merge = pb.MergeBehaviorsRequest(source_id=pii_id, target_id=refund_id)
        merged = await call(app, "MergeBehaviors", merge)
        assert (merged.id, merged.count, sorted(merged.scorers)) == (refund_id, 3, sorted([REFUND, PII]))
        await export(app, make_request([pii_span(2)]))
        later = await wait_for(receiver, scored(4))
        assert behavior_of(next(s for s in later if s.name == "pii-2"))[0] == refund_id  # the merge holds
        assert await status_of(app, "MergeBehaviors", pb.MergeBehaviorsRequest(
            source_id=pii_id, target_id=refund_id)) == grpc.StatusCode.FAILED_PRECONDITION
        assert await status_of(app, "MergeBehaviors", pb.MergeBehaviorsRequest(
            source_id="bhv_nope", target_id=refund_id)) == grpc.StatusCode.NOT_FOUND

        pii_spans = [e.span_id for e in (await call(app, "GetBehavior", pb.GetBehaviorRequest(id=refund_id))
                                         ).examples if "@example.com" in e.text]
        split = await call(app, "SplitBehavior", pb.SplitBehaviorRequest(id=refund_id, span_ids=pii_spans,
                                                                          name="Leaks e-mail addresses"))
        assert (split.name, split.count) == ("Leaks e-mail addresses", 2)
        await export(app, make_request([pii_span(3)]))
        last = await wait_for(receiver, scored(5))
        third = next(s for s in last if s.name == "pii-3")
        assert behavior_of(third) == (split.id, "Leaks e-mail addresses", False)
        assert await status_of(app, "SplitBehavior", pb.SplitBehaviorRequest(
            id=refund_id, span_ids=["00"])) == grpc.StatusCode.FAILED_PRECONDITION
    await state.close()


async def test_cli_tables_json_and_actions(make_config, receiver) -> None:
    config = make_config({"scorers": SCORERS})
    state = open_shared_state(config.state_db_url)
    async with running(config, shared_state=state, service_installers=[behaviors_installer(state, API_KEY)]
                       ) as app:
        env = {"JUDGMENT_API_URL": f"127.0.0.1:{app.port}", "JUDGMENT_API_KEY": API_KEY}
        await export(app, make_request([no_refund_span(1), no_refund_span(2), pii_span(1)]))
        received = await wait_for(receiver, scored(3))
        refund_id = behavior_of(next(s for s in received if s.name == "no-refund-1"))[0]
        pii_id = behavior_of(next(s for s in received if s.name == "pii-1"))[0]
        assert received[0].attributes[semconv.JUDGEVAL_BEHAVIOR_KIND] == "failure"

        table = await run_cli("behaviors", "list", env=env)
        header, *rows = table.stdout.splitlines()
        assert header.split()[:6] == ["ID", "KIND", "STATE", "SEVERITY", "COUNT", "TREND"]
        assert rows[0].split()[:5] == [refund_id, "failure", "new", "low", "2"]
        piped = [await run_cli_into_closed_pipe("behaviors", "list", *flag, env=env)
                 for flag in ([], ["--json"])]
        assert [(p.code, p.stderr) for p in piped] == [(141, ""), (141, "")]  # `| head`: no traceback
        listed = json.loads((await run_cli("behaviors", "list", "--json", env=env)).stdout)
        assert [(b["id"], b["count"], b["state"]) for b in listed["behaviors"]] == [
            (refund_id, "2", "new"), (pii_id, "1", "new")]
        filtered = (await run_cli("behaviors", "list", "--state", "increasing", env=env)).stdout
        assert filtered == ("No open behaviors in state 'increasing' (`--all` also lists dismissed and "
                            "merged ones).\n")

        shown = (await run_cli("behaviors", "show", refund_id, env=env)).stdout
        assert "state:        new since" in shown and "environments:" in shown
        assert "input:  My order is late, I want my money back" in shown

        assert (await run_cli("behaviors", "expect", pii_id, env=env)).stdout.startswith(
            f"Marked as expected behavior {pii_id}")
        assert "* dismissed, expected or merged" in (await run_cli("behaviors", "list", env=env)).stdout
        dismissed = await run_cli("behaviors", "dismiss", pii_id, env=env)
        assert dismissed.code == 0 and pii_id not in (await run_cli("behaviors", "list", env=env)).stdout
        assert pii_id in (await run_cli("behaviors", "list", "--all", env=env)).stdout
        none = await run_cli("behaviors", "list", "--scorer", PII, "--state", "new", env=env)
        assert none.stdout == f"No open behaviors of scorer {PII!r} in state 'new' (`--all` also lists " \
                              "dismissed and merged ones).\n"
        await run_cli("behaviors", "reopen", pii_id, env=env)
        merged = await run_cli("behaviors", "merge", pii_id, refund_id, env=env)
        assert merged.stdout.strip().startswith(f"Merged {pii_id} into {refund_id}")
        assert "3 members" in merged.stdout

        events = (await run_cli("behaviors", "events", env=env)).stdout.splitlines()
        assert events[0].split()[:3] == ["SEQ", "AT", "EVENT"] and len(events) == 3
        after = json.loads((await run_cli("behaviors", "events", "--after", "1", "--json", env=env)).stdout)
        assert [e["sequence"] for e in after["events"]] == ["2"]

        bad_split = await run_cli("behaviors", "split", refund_id, "ffffffffffffffff", env=env)
        again = await run_cli("behaviors", "merge", pii_id, refund_id, env=env)
        await run_cli("behaviors", "dismiss", refund_id, env=env)  # nothing open is left, two behaviors are
        none_open = (await run_cli("behaviors", "list", env=env)).stdout
        assert none_open == "No open behaviors (`--all` also lists dismissed and merged ones).\n", none_open
    for result, fragment in ((bad_split, "are not example members"), (again, "already merged")):
        assert result.code == 1 and "Traceback" not in result.stderr
        assert result.stderr.startswith("judgeval: error: ") and fragment in result.stderr
    await state.close()


async def test_the_running_evaluator_resolves_a_quiet_behavior_by_itself(make_config, receiver) -> None:
    lifecycle = {"interval_s": 0.2, "new_for_s": 0.5, "trend_window_s": 1, "baseline_window_s": 2,
                 "resolve_min_s": 1, "resolve_max_s": 1}
    config = make_config({"scorers": SCORERS, "behaviors": {"lifecycle": lifecycle}})
    state = open_shared_state(config.state_db_url)
    async with running(config, shared_state=state, service_installers=[behaviors_installer(state, API_KEY)]
                       ) as app:
        await export(app, make_request([pii_span(1)]))
        await wait_for(receiver, scored(1))

        async def kinds() -> list[str]:
            reply = await call(app, "ListBehaviorEvents", pb.ListBehaviorEventsRequest())
            return [e.kind for e in reply.events]

        for _ in range(200):  # the app's own lifecycle loop, on the real clock, a second of quiet
            if "behavior.resolved" in await kinds():
                break
            await asyncio.sleep(0.1)
        assert await kinds() == ["behavior.created", "behavior.resolved"]
        await export(app, make_request([pii_span(2)]))
        await wait_for(receiver, scored(2))
        # (A second of quiet later it may resolve again: only the first three are certain.)
        assert (await kinds())[:3] == ["behavior.created", "behavior.resolved", "behavior.regressed"]
    await state.close()
