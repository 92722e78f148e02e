"""Scorers: uploaded scorers and their versions (source read-only), the built-in types, the YAML scorers,
the span and trajectory rules, paused scorers and why. Shadow comparisons and dataset replays get their
place here once those features store their results."""

from __future__ import annotations

from collections import defaultdict

from aiohttp import web

from evaluator_service.console.request_context import context_of, render
from evaluator_service.scoring.builtin import catalog
from evaluator_service.state.scorer_versions import StoredScorer


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/scorers", scorer_list)
    router.add_get("/scorers/{name}/{version:\\d+}", scorer_source)


async def scorer_list(request: web.Request) -> web.Response:
    ctx = context_of(request)
    found = await ctx.queries.scorer_catalog(ctx.config.scorers, ctx.config.rules)
    uploaded: dict[str, list[StoredScorer]] = defaultdict(list)
    for stored in found.uploaded:
        uploaded[stored.name].append(stored)
    for versions in uploaded.values():
        versions.sort(key=lambda s: s.version, reverse=True)
    paused = {p.name: p for p in await ctx.queries.paused()}
    judges = catalog.JUDGE_TYPES | catalog.TRAJECTORY_JUDGE_TYPES
    builtins = [(name, "LLM judge" if name in judges else "deterministic", what)
                for names, what in ((found.builtin, "span"), (found.builtin_trajectory, "trajectory"))
                for name in names]
    return render(request, "scorers.html", uploaded=sorted(uploaded.items()), paused=paused,
                  builtins=builtins, configured=found.configured, rules=found.rules)


async def scorer_source(request: web.Request) -> web.Response:
    ctx = context_of(request)
    name, version = request.match_info["name"], int(request.match_info["version"])
    found = await ctx.queries.scorer_source(name, version)
    if found is None:
        raise web.HTTPNotFound(text=f"no uploaded scorer {name!r} version {version}")
    return render(request, "scorer_source.html", scorer=found.scorer, files=found.files)
