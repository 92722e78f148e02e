"""The ``judgeval.admin.v1.Alerts`` gRPC service: alerts with their state, history, silences and tests.

Authenticated exactly like ``ScorerAdmin`` (:class:`~evaluator_service.admin.auth.AdminAuth`). A state
database outage is ``UNAVAILABLE``; an unknown alert ``NOT_FOUND``; a bad silence ``INVALID_ARGUMENT``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from judgeval.admin.v1 import alerts_pb2 as pb
from judgeval.admin.v1 import alerts_pb2_grpc as pb_grpc

from evaluator_service.admin.auth import AdminAuth
from evaluator_service.alerts.alert_records import AlertView, ChannelCircuit
from evaluator_service.alerts.conditions import BEHAVIOR_KEY, CONDITION_KINDS
from evaluator_service.alerts.manager import AlertManager
from evaluator_service.alerts.transitions import FIRING
from evaluator_service.state import StateUnavailable
from evaluator_service.state.alert_rows import HistoryEntry
from evaluator_service.state.alert_silences import Silence

_PURPOSE = "the alerts API"
MAX_HISTORY = 1000
T = TypeVar("T")


class AlertsServicer(pb_grpc.AlertsServicer):
    """Async servicer over an :class:`~evaluator_service.alerts.manager.AlertManager`."""

    def __init__(self, manager: AlertManager, auth: AdminAuth | str | None) -> None:
        self._manager = manager
        self._auth = AdminAuth.of(auth)

    async def _call(self, context: grpc.aio.ServicerContext, work: Callable[[], Awaitable[T]]) -> T:
        """Run ``work`` (the caller is authorized already); a database outage is ``UNAVAILABLE``."""
        try:
            return await work()
        except StateUnavailable as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
            raise  # unreachable: abort raises

    async def _known(self, context: grpc.aio.ServicerContext, name: str) -> None:
        if name not in self._manager.alerts:
            known = ", ".join(sorted(self._manager.alerts)) or "none configured"
            await context.abort(grpc.StatusCode.NOT_FOUND, f"no alert named {name!r} (alerts: {known})")

    async def ListAlerts(self, request: pb.ListAlertsRequest, context: grpc.aio.ServicerContext
                         ) -> pb.ListAlertsResponse:
        await self._auth.authorize(context, _PURPOSE)
        views = await self._call(context, self._manager.views)
        return pb.ListAlertsResponse(alerts=[self._status(view) for view in views])

    def _status(self, view: AlertView) -> pb.AlertStatus:
        status = _status(view)
        now, replica = self._manager.now(), self._manager.replica
        status.circuits.extend(_circuit(c, now, replica) for c in self._manager.circuits(view.alert.name))
        return status

    async def GetAlert(self, request: pb.GetAlertRequest, context: grpc.aio.ServicerContext
                       ) -> pb.GetAlertResponse:
        await self._auth.authorize(context, _PURPOSE)
        await self._known(context, request.name)
        if not 0 <= request.history_limit <= MAX_HISTORY:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                f"history_limit must be 1..{MAX_HISTORY} (0: 20)")

        async def work() -> pb.GetAlertResponse:
            view = next(v for v in await self._manager.views() if v.alert.name == request.name)
            history = await self._manager.history(request.name, request.history_limit or 20)
            labels = {"alert": request.name, **view.alert.filter.labels()}
            silences = [s for s in await self._manager.silences()
                        if all(labels.get(k) == v for k, v in s.matchers.items() if k != "severity")]
            transitions = [await self._transition(h) for h in history]
            return pb.GetAlertResponse(alert=self._status(view), history=transitions,
                                       silences=[_silence(s, self._manager.now()) for s in silences])

        return await self._call(context, work)

    async def AlertHistory(self, request: pb.AlertHistoryRequest, context: grpc.aio.ServicerContext
                           ) -> pb.AlertHistoryResponse:
        await self._auth.authorize(context, _PURPOSE)
        if request.name:
            await self._known(context, request.name)
        if not 0 <= request.limit <= MAX_HISTORY:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"limit must be 1..{MAX_HISTORY} (0: 50)")

        async def work() -> pb.AlertHistoryResponse:
            history = await self._manager.history(request.name or None, request.limit or 50)
            return pb.AlertHistoryResponse(transitions=[await self._transition(h) for h in history])

        return await self._call(context, work)

    async def _transition(self, entry: HistoryEntry) -> pb.AlertTransition:
        out = pb.AlertTransition(
            id=entry.id, alert=entry.alert, at=_ts(entry.at), from_state=entry.from_state,
            to_state=entry.to_state, severity=entry.severity or "", kind=str(entry.detail.get("kind", "")),
            event_id=entry.event_id or "",
            silenced_by=entry.silenced_by or "",
            details_json=json.dumps({k: v for k, v in entry.detail.items() if k != "kind"}, sort_keys=True),
        )
        if entry.observed is not None:
            out.observed = entry.observed
        if entry.event_id:
            rows, attempts = await self._manager.deliveries(entry.event_id)
            for row in rows:
                out.channels.append(pb.ChannelDelivery(
                    channel=row.channel, status=row.status, attempts=row.attempts,
                    attempt_log=[pb.DeliveryAttemptRecord(at=_ts(a.at), ok=a.ok, detail=a.detail,
                                                          status_code=a.status_code or 0, replica=a.replica)
                                 for a in attempts if a.channel == row.channel]))
        return out

    async def CreateSilence(self, request: pb.CreateSilenceRequest, context: grpc.aio.ServicerContext
                            ) -> pb.Silence:
        await self._auth.authorize(context, _PURPOSE)
        now = self._manager.now()
        starts = _seconds(request.starts_at) if request.HasField("starts_at") else None
        if request.HasField("ends_at"):
            ends = _seconds(request.ends_at)
        elif request.duration_seconds > 0:
            ends = (starts or now) + request.duration_seconds
        else:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                "give ends_at or a positive duration_seconds")

        async def work() -> Silence:
            try:
                return await self._manager.create_silence(dict(request.matchers), starts, ends,
                                                          request.comment, request.created_by)
            except ValueError as exc:
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
                raise

        created = await self._call(context, work)
        return _silence(created, self._manager.now())  # a silence starting now is active, not upcoming

    async def ListSilences(self, request: pb.ListSilencesRequest, context: grpc.aio.ServicerContext
                           ) -> pb.ListSilencesResponse:
        await self._auth.authorize(context, _PURPOSE)
        silences = await self._call(context, self._manager.silences)
        now = self._manager.now()
        return pb.ListSilencesResponse(silences=[_silence(s, now) for s in silences])

    async def ExpireSilence(self, request: pb.ExpireSilenceRequest, context: grpc.aio.ServicerContext
                            ) -> pb.ExpireSilenceResponse:
        await self._auth.authorize(context, _PURPOSE)
        expired = await self._call(context, lambda: self._manager.expire_silence(request.id))
        if not expired:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"no active or upcoming silence {request.id!r}")
        return pb.ExpireSilenceResponse()

    async def TestAlert(self, request: pb.TestAlertRequest, context: grpc.aio.ServicerContext
                        ) -> pb.TestAlertResponse:
        await self._auth.authorize(context, _PURPOSE)
        await self._known(context, request.name)
        results = await self._call(context, lambda: self._manager.send_test(request.name))
        return pb.TestAlertResponse(deliveries=[
            pb.Delivery(target=r.target, ok=r.ok, detail=r.detail, attempts=r.attempts) for r in results
        ])


def _condition_key(view: AlertView) -> str:
    condition = view.alert.condition
    if condition is None:
        return BEHAVIOR_KEY
    return next(key for key, kind in CONDITION_KINDS.items() if isinstance(condition, kind))


def _status(view: AlertView) -> pb.AlertStatus:
    alert, stored = view.alert, view.status
    condition = alert.condition
    status = pb.AlertStatus(
        name=alert.name, scorer=alert.scorer, condition=_condition_key(view),
        threshold=condition.levels.worst() if condition else 0.0,
        window_seconds=condition.windows[0] if condition and condition.windows else 0.0,
        min_count=int(getattr(condition, "min_count", 0)), state=view.state,
        fired_count=stored.fired_count if stored else 0, targets=["log", *alert.notify],
        where=[f"{key}={value}" for key, value in alert.filter.where.items()], description=alert.describe(),
        severity=(stored.severity or "") if stored else "", for_seconds=alert.for_s,
        renotify_seconds=alert.renotify_s, recovery=alert.recovery,
        episode=(stored.episode or "") if stored else "",
    )
    if stored is not None:
        status.state_since.CopyFrom(_ts(stored.state_since))
        if stored.state == FIRING:
            status.last_fired_at.CopyFrom(_ts(stored.state_since))
        if stored.last_value is not None:
            status.last_value = stored.last_value
    return status


def _circuit(c: ChannelCircuit, now: float, replica: str) -> pb.ChannelCircuit:
    circuit = c.circuit
    out = pb.ChannelCircuit(channel=c.channel, target=c.target, state=circuit.state.value,
                            consecutive_failures=circuit.consecutive_failures,
                            failure_threshold=circuit.failures_to_open, last_failure=circuit.last_failure,
                            replica=replica)
    if circuit.next_probe_in_s is not None:
        out.next_probe_at.CopyFrom(_ts(now + circuit.next_probe_in_s))
    return out


def _silence(silence: Silence, now: float) -> pb.Silence:
    return pb.Silence(id=silence.id, matchers=silence.matchers, starts_at=_ts(silence.starts_at),
                      ends_at=_ts(silence.ends_at), comment=silence.comment, created_by=silence.created_by,
                      active=silence.active(now))


def _ts(seconds: float) -> Timestamp:
    stamp = Timestamp()
    stamp.FromNanoseconds(int(seconds * 1e9))
    return stamp


def _seconds(stamp: Any) -> float:
    return float(stamp.seconds + stamp.nanos / 1e9)


def install_alerts_service(server: grpc.aio.Server, manager: AlertManager,
                           auth: AdminAuth | str | None) -> None:
    """Add the Alerts service to ``server``."""
    pb_grpc.add_AlertsServicer_to_server(AlertsServicer(manager, auth), server)


def alerts_installer(manager: AlertManager, auth: AdminAuth | str | None
                     ) -> Callable[[grpc.aio.Server], None]:
    """A service installer for :class:`~evaluator_service.app.EvaluatorApp` (``service_installers=[...]``)."""
    return lambda server: install_alerts_service(server, manager, auth)
