"""Failing interactions across services: filterable (scorer, agent, service, environment, behavior, time,
score range, outcome), paginated newest first, each with its input, output and reason, linking to the
trace in Jaeger/Tempo (``console.trace_url``) and to its issue."""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from evaluator_service.console.queries import ConsoleQueryError, FailingFilter
from evaluator_service.console.ranges import RANGES, time_range
from evaluator_service.console.request_context import context_of, render

PAGE_SIZE = 25
TEXT_KEYS = ("scorer", "agent", "service", "environment", "behavior", "outcome")
NUMBER_KEYS = ("min_score", "max_score")


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/failing", failing_list)


def shown(value: Any) -> str:
    """An example field as text: strings as they are, anything else as JSON."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)


def _number(query: Any, key: str) -> float | None:
    raw = query.get(key)
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ConsoleQueryError(f"{key.replace('_', ' ')} must be a number, got {raw!r}") from None
    if not math.isfinite(value):
        raise ConsoleQueryError(f"{key.replace('_', ' ')} must be a finite number, got {raw!r}")
    return value


async def failing_list(request: web.Request) -> web.Response:
    ctx = context_of(request)
    q = request.query
    chosen = time_range(q.get("range")) if q.get("range") != "all" else None
    text = {k: q[k] for k in TEXT_KEYS if q.get(k)}
    where = FailingFilter(
        scorer=text.get("scorer"), agent=text.get("agent"), service=text.get("service"),
        environment=text.get("environment"), behavior_id=text.get("behavior"), outcome=text.get("outcome"),
        since=ctx.clock() - chosen.seconds if chosen else None,
        min_score=_number(q, "min_score"), max_score=_number(q, "max_score"))
    page = await ctx.queries.failing(where, limit=PAGE_SIZE, cursor=q.get("cursor") or None)
    kept = {k: v for k, v in q.items() if k != "cursor" and v}
    next_url = f"/failing?{urlencode({**kept, 'cursor': page.next_cursor})}" if page.next_cursor else None
    return render(request, "failing.html", page=page, filters=q, ranges=RANGES,
                  chosen=chosen.name if chosen else "all", next_url=next_url,
                  first_url=f"/failing?{urlencode(kept)}" if q.get("cursor") else None, shown=shown)
