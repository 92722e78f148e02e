"""Alerts: every configured alert with its current state, the history of transitions with the deliveries
each notification got, and the silences in force."""

from __future__ import annotations

from aiohttp import web

from evaluator_service.console.request_context import context_of, render
from evaluator_service.state.alert_outbox import DeliveryRecord

HISTORY_LIMIT = 200
DELIVERY_EVENTS = 50
"""Transitions whose deliveries are looked up (the newest ones); older rows show the event id only."""


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/alerts", alert_list)


async def alert_list(request: web.Request) -> web.Response:
    ctx = context_of(request)
    name = request.query.get("alert") or None
    statuses = {s.name: s for s in await ctx.state.alert_statuses()}
    configured = {a.name: a for a in ctx.config.alerts}
    history = await ctx.state.alert_history(name, HISTORY_LIMIT)
    deliveries: dict[str, list[DeliveryRecord]] = {}
    for entry in history:
        if entry.event_id and entry.event_id not in deliveries and len(deliveries) < DELIVERY_EVENTS:
            deliveries[entry.event_id] = await ctx.state.deliveries_of(entry.event_id)
    rows = [(alert_name, configured.get(alert_name), statuses.get(alert_name))
            for alert_name in sorted(set(configured) | set(statuses))]
    return render(request, "alerts.html", rows=rows, history=history, deliveries=deliveries,
                  silences=await ctx.state.silences(ctx.clock()), selected=name,
                  outbox=await ctx.state.outbox_counts())
