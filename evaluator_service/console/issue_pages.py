"""Issues (behaviors): the list with state, severity, trend and first/last seen, one issue's page with its
examples and sampled members, and the admin's rename, merge, dismiss and reopen."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from aiohttp import web

from evaluator_service.console.formatting import iso
from evaluator_service.console.request_context import context_of, render, require_write
from evaluator_service.state.behavior_issue_rows import BehaviorActionRefused
from evaluator_service.state.behavior_records import (
    DISMISSED,
    DISPOSITIONS,
    KINDS,
    MAX_NAME_CHARS,
    MERGED,
    NAME_OPERATOR,
    OPEN,
    STATES,
    StoredBehavior,
)
from evaluator_service.state.behavior_rows import BUCKET_S, bucket_of

TREND_HOURS = 24
"""The sparkline's span: members per hour over the last day."""

_HOUR_BUCKETS = 3600 // BUCKET_S


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/issues", issue_list)
    router.add_get("/issues/{id}", issue_page)
    # behavior alerts' issue links (``issue_link_template`` in default_config.yaml: /behaviors/{behavior_id})
    router.add_get("/behaviors/{id}", behavior_link)
    router.add_post("/issues/{id}/rename", rename)
    router.add_post("/issues/{id}/merge", merge)
    router.add_post("/issues/{id}/dismiss", dismiss)
    router.add_post("/issues/{id}/reopen", reopen)


def hourly_trend(buckets: dict[int, int], now: float) -> list[int]:
    """Members per hour, oldest first, over :data:`TREND_HOURS` hours ending now."""
    last = bucket_of(now)
    hours = [0] * TREND_HOURS
    for bucket, count in buckets.items():
        age = (last - bucket) // _HOUR_BUCKETS
        if 0 <= age < TREND_HOURS:
            hours[TREND_HOURS - 1 - age] += count
    return hours


async def issue_list(request: web.Request) -> web.Response:
    ctx = context_of(request)
    now = ctx.clock()
    q = request.query
    behaviors = await ctx.state.behaviors()
    buckets = await ctx.state.behavior_buckets(bucket_of(now - TREND_HOURS * 3600))
    show = q.get("disposition", OPEN)
    shown = [b for b in behaviors
             if (show == "all" or b.disposition == show)
             and (not q.get("state") or b.state == q["state"])
             and (not q.get("kind") or b.kind == q["kind"])
             and (not q.get("scorer") or q["scorer"] in (b.scorer, *b.scorers))
             and (not q.get("agent") or q["agent"] in b.agents)]
    shown.sort(key=lambda b: b.last_seen, reverse=True)
    return render(request, "issues.html", issues=shown, filters=q, states=STATES, kinds=KINDS,
                  dispositions=DISPOSITIONS, scorers=sorted({b.scorer for b in behaviors}),
                  trends={b.id: hourly_trend(buckets.get(b.id, {}), now) for b in shown})


async def issue_page(request: web.Request) -> web.Response:
    ctx = context_of(request)
    found = await _behavior(request)
    now = ctx.clock()
    buckets = await ctx.state.behavior_buckets(bucket_of(now - TREND_HOURS * 3600))
    samples = await ctx.state.behavior_samples(found.id)
    # what the state accepts as a merge target: the same kind, grouped in the same embedding space
    others = [b for b in await ctx.state.behaviors() if b.id != found.id and b.disposition != MERGED
              and b.kind == found.kind and b.space == found.space]
    trend = hourly_trend(buckets.get(found.id, {}), now)
    chart = {"x": [iso(now - (TREND_HOURS - 1 - i) * 3600) for i in range(TREND_HOURS)], "y": trend}
    return render(request, "issue.html", issue=found, samples=samples[:20], merge_targets=others,
                  chart_data=chart, trend=trend, done=request.query.get("done"),
                  error=request.query.get("error"))


async def behavior_link(request: web.Request) -> web.Response:
    raise web.HTTPMovedPermanently(f"/issues/{quote(request.match_info['id'], safe='')}")


async def _behavior(request: web.Request) -> StoredBehavior:
    found = await context_of(request).state.behavior(request.match_info["id"])
    if found is None:
        raise web.HTTPNotFound(text=f"no issue {request.match_info['id']!r}")
    return found


def _back(behavior_id: str, done: str = "", error: str = "") -> web.HTTPSeeOther:
    query = urlencode({k: v for k, v in (("done", done), ("error", error)) if v})
    return web.HTTPSeeOther(f"/issues/{behavior_id}" + (f"?{query}" if query else ""))


async def rename(request: web.Request) -> web.Response:
    form = await request.post()
    require_write(request, form)
    behavior_id = request.match_info["id"]
    raw = form.get("name")
    name = " ".join(raw.split()) if isinstance(raw, str) else ""
    if not name or len(name) > MAX_NAME_CHARS:
        raise _back(behavior_id, error=f"A name must be 1 to {MAX_NAME_CHARS} characters.")
    renamed = await context_of(request).state.rename_behavior(behavior_id, name, NAME_OPERATOR)
    if renamed is None:
        raise web.HTTPNotFound(text=f"no issue {behavior_id!r}")
    raise _back(behavior_id, done="renamed")


async def merge(request: web.Request) -> web.Response:
    form = await request.post()
    require_write(request, form)
    behavior_id = request.match_info["id"]
    target = form.get("target")
    if not isinstance(target, str) or not target:
        raise _back(behavior_id, error="Choose the issue to merge this one into.")
    try:
        merged = await context_of(request).state.merge_behaviors(behavior_id, target)
    except BehaviorActionRefused as exc:
        raise _back(behavior_id, error=str(exc)) from None
    raise _back(merged.id, done="merged")


async def dismiss(request: web.Request) -> web.Response:
    return await _set_disposition(request, DISMISSED, "dismissed")


async def reopen(request: web.Request) -> web.Response:
    return await _set_disposition(request, OPEN, "reopened")


async def _set_disposition(request: web.Request, disposition: str, done: str) -> web.Response:
    form = await request.post()
    require_write(request, form)
    behavior_id = request.match_info["id"]
    try:
        changed = await context_of(request).state.set_behavior_disposition(behavior_id, disposition)
    except BehaviorActionRefused as exc:
        raise _back(behavior_id, error=str(exc)) from None
    if changed is None:
        raise web.HTTPNotFound(text=f"no issue {behavior_id!r}")
    raise _back(behavior_id, done=done)
