"""The ``judgeval.admin.v1.Alerts`` gRPC service: list configured alerts with their state, send a test.

Authenticated exactly like ``ScorerAdmin`` (:class:`~evaluator_service.admin.auth.AdminAuth`).
"""

from __future__ import annotations

from collections.abc import Callable

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from judgeval.admin.v1 import alerts_pb2 as pb
from judgeval.admin.v1 import alerts_pb2_grpc as pb_grpc

from evaluator_service.admin.auth import AdminAuth
from evaluator_service.alerts.manager import AlertManager, AlertView
from evaluator_service.alerts.notify import shown_url
from evaluator_service.state import StateUnavailable

_PURPOSE = "the alerts API"


class AlertsServicer(pb_grpc.AlertsServicer):
    """Async servicer over an :class:`~evaluator_service.alerts.manager.AlertManager`."""

    def __init__(self, manager: AlertManager, auth: AdminAuth | str | None) -> None:
        self._manager = manager
        self._auth = AdminAuth.of(auth)

    async def ListAlerts(self, request: pb.ListAlertsRequest, context: grpc.aio.ServicerContext
                         ) -> pb.ListAlertsResponse:
        await self._auth.authorize(context, _PURPOSE)
        try:
            views = await self._manager.views()
        except StateUnavailable as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
        return pb.ListAlertsResponse(alerts=[_status(view) for view in views])

    async def TestAlert(self, request: pb.TestAlertRequest, context: grpc.aio.ServicerContext
                        ) -> pb.TestAlertResponse:
        await self._auth.authorize(context, _PURPOSE)
        if request.name not in self._manager.alerts:
            known = ", ".join(sorted(self._manager.alerts)) or "none configured"
            await context.abort(grpc.StatusCode.NOT_FOUND,
                                f"no alert named {request.name!r} (alerts: {known})")
        results = await self._manager.send_test(request.name)
        return pb.TestAlertResponse(deliveries=[
            pb.Delivery(target=r.target, ok=r.ok, detail=r.detail, attempts=r.attempts) for r in results
        ])


def _status(view: AlertView) -> pb.AlertStatus:
    alert = view.alert
    status = pb.AlertStatus(
        name=alert.name, scorer=alert.scorer, condition=alert.condition.value, threshold=alert.threshold,
        window_seconds=alert.window_s, min_count=alert.min_count, cooldown_seconds=alert.cooldown_s,
        state=view.state, fired_count=view.fired_count,
        targets=["log", *([shown_url(alert.webhook.url)] if alert.webhook else [])],
        where=[f"{key}={value}" for key, value in alert.where.items()],
    )
    if view.last_fired_at is not None:
        fired = Timestamp()
        fired.FromNanoseconds(int(view.last_fired_at * 1e9))
        status.last_fired_at.CopyFrom(fired)
    if view.last_value is not None:
        status.last_value = view.last_value
    return status


def install_alerts_service(server: grpc.aio.Server, manager: AlertManager,
                           auth: AdminAuth | str | None) -> None:
    """Add the Alerts service to ``server``."""
    pb_grpc.add_AlertsServicer_to_server(AlertsServicer(manager, auth), server)


def alerts_installer(manager: AlertManager, auth: AdminAuth | str | None
                     ) -> Callable[[grpc.aio.Server], None]:
    """A service installer for :class:`~evaluator_service.app.EvaluatorApp` (``service_installers=[...]``)."""
    return lambda server: install_alerts_service(server, manager, auth)
