"""The overview: per scorer and per agent, pass rate and score distribution over a selectable range,
volume, scoring errors apart from failures, judge latency and cost, paused scorers and why, and what needs
attention now (open issues, alerts not ok). Everything links down to the failing list, issues, scorers."""

from __future__ import annotations

from collections import Counter

from aiohttp import web

from evaluator_service.console import charts
from evaluator_service.console.ranges import RANGES, time_range
from evaluator_service.console.request_context import context_of, render
from evaluator_service.state.behavior_records import OPEN, STATE_RESOLVED

FILTER_KEYS = ("scorer", "agent", "service", "environment")


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/", overview)


async def overview(request: web.Request) -> web.Response:
    ctx = context_of(request)
    chosen = time_range(request.query.get("range"))
    filters = {k: request.query[k] for k in FILTER_KEYS if request.query.get(k)}
    now = ctx.clock()
    view = await ctx.queries.overview(now - chosen.seconds, now, chosen.step_s, **filters)
    behaviors = [b for b in await ctx.state.behaviors() if b.disposition == OPEN]
    open_issues = [b for b in behaviors if b.state != STATE_RESOLVED]
    statuses = await ctx.state.alert_statuses()
    return render(
        request, "overview.html", view=view, ranges=RANGES, chosen=chosen, filters=filters,
        pass_by_scorer=charts.pass_rate_chart(view.by_scorer, "scorer"),
        pass_by_agent=charts.pass_rate_chart(view.by_agent, "agent"),
        volume=charts.volume_chart(view.points), distribution=charts.distribution_chart(view.by_scorer),
        paused={p.name: p for p in view.paused},
        issues_by_scorer=Counter(b.scorer for b in open_issues),
        paused_list=view.paused, issue_states=Counter(b.state for b in open_issues),
        top_issues=sorted(open_issues, key=lambda b: b.last_seen, reverse=True)[:10],
        firing=[s for s in statuses if s.state != "ok"])
