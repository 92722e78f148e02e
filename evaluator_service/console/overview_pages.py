"""The overview: what needs attention now (open issues, firing alerts, paused scorers and why)."""

from __future__ import annotations

from collections import Counter

from aiohttp import web

from evaluator_service.console.request_context import context_of, render
from evaluator_service.state.behavior_records import OPEN, STATE_RESOLVED


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/", overview)


async def overview(request: web.Request) -> web.Response:
    ctx = context_of(request)
    behaviors = [b for b in await ctx.state.behaviors() if b.disposition == OPEN]
    open_issues = [b for b in behaviors if b.state != STATE_RESOLVED]
    statuses = await ctx.state.alert_statuses()
    return render(request, "overview.html", paused=await ctx.state.paused_scorers(),
                  issue_states=Counter(b.state for b in open_issues),
                  top_issues=sorted(open_issues, key=lambda b: b.last_seen, reverse=True)[:10],
                  firing=[s for s in statuses if s.state != "ok"])
