"""Scorers: uploaded scorers and their versions (source read-only), the built-in types, the YAML scorers,
the span and trajectory rules, paused scorers and why; per uploaded scorer its current and shadow versions,
promotions and shadow comparison; recorded dataset replays. ``/scorers/NAME`` is one scorer's page: its
versions, promotion history, shadow comparison with more changed cases, and its replays."""

from __future__ import annotations

from collections import defaultdict

from aiohttp import web

from evaluator_service.console.request_context import context_of, render
from evaluator_service.console.views import ScorerVersionsView
from evaluator_service.scoring.builtin import catalog
from evaluator_service.state.scorer_versions import StoredScorer
from evaluator_service.state.shadow_rows import ShadowComparison

RECENT_REPLAYS = 20
"""Replays listed on the Scorers page (newest first); a scorer's page lists SCORER_REPLAYS of its own."""
SCORER_REPLAYS = 100
SCORER_PROMOTIONS = 20
SCORER_CHANGED_CASES = 20


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/scorers", scorer_list)
    router.add_get("/scorers/{name}/{version:\\d+}", scorer_source)
    router.add_get("/scorers/{name}", scorer_page)


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
    pointed = await ctx.queries.scorer_versions({n: [s.version for s in v] for n, v in uploaded.items()})
    return render(request, "scorers.html", uploaded=sorted(uploaded.items()), paused=paused,
                  builtins=builtins, configured=found.configured, rules=found.rules, pointed=pointed,
                  compared=_compared(pointed), any_changed=any(v.comparison and v.comparison.changed
                                                              for v in pointed.values()),
                  replays=await ctx.queries.replay_runs(limit=RECENT_REPLAYS))


async def scorer_page(request: web.Request) -> web.Response:
    ctx = context_of(request)
    name = request.match_info["name"]
    found = await ctx.queries.scorer_catalog(ctx.config.scorers, ctx.config.rules)
    versions = sorted((s for s in found.uploaded if s.name == name), key=lambda s: s.version, reverse=True)
    replays = await ctx.queries.replay_runs(name, limit=SCORER_REPLAYS)
    known = {c.name for c in found.configured} | set(found.builtin) | set(found.builtin_trajectory)
    if not versions and not replays and name not in known:
        raise web.HTTPNotFound(text=f"no scorer named {name!r}: not uploaded, configured or built in, "
                               "and never replayed")
    pointed = await ctx.queries.scorer_versions({name: [s.version for s in versions]} if versions else {},
                                               promotions=SCORER_PROMOTIONS, changed=SCORER_CHANGED_CASES)
    paused = {p.name: p for p in await ctx.queries.paused()}
    return render(request, "scorer.html", name=name, versions=versions, view=pointed.get(name),
                  compared=_compared(pointed), replays=replays, paused=paused.get(name))


def _compared(pointed: dict[str, ScorerVersionsView]) -> list[tuple[str, ShadowComparison, int | None]]:
    """(name, comparison, the running shadow version) of every scorer that has a comparison, by name."""
    return [(name, view.comparison, view.pointer.shadow_version) for name, view in sorted(pointed.items())
            if view.comparison is not None]


async def scorer_source(request: web.Request) -> web.Response:
    ctx = context_of(request)
    name, version = request.match_info["name"], int(request.match_info["version"])
    found = await ctx.queries.scorer_source(name, version)
    if found is None:
        raise web.HTTPNotFound(text=f"no uploaded scorer {name!r} version {version}")
    return render(request, "scorer_source.html", scorer=found.scorer, files=found.files)
