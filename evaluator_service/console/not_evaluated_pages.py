"""Not evaluated: spans that asked for a score and got none, counted by reason (paused, unknown scorer,
timeout, bound hit, ...) over a selectable range, a chart per reason, and recent samples."""

from __future__ import annotations

from aiohttp import web

from evaluator_service.console import charts
from evaluator_service.console.ranges import RANGES, time_range
from evaluator_service.console.reasons import REASONS
from evaluator_service.console.request_context import context_of, render

SAMPLES = 50


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/not-evaluated", not_evaluated)


async def not_evaluated(request: web.Request) -> web.Response:
    ctx = context_of(request)
    q = request.query
    chosen = time_range(q.get("range"))
    filters = {k: q[k] for k in ("reason", "scorer", "service") if q.get(k)}
    now = ctx.clock()
    summary = await ctx.queries.not_evaluated(now - chosen.seconds, now, chosen.step_s, samples=SAMPLES,
                                              **filters)
    return render(request, "not_evaluated.html", summary=summary, ranges=RANGES, chosen=chosen,
                  filters=filters, reasons=REASONS, chart_spec=charts.not_evaluated_chart(summary))
