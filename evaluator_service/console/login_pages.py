"""``/login`` and ``/logout``: the key goes in a POSTed form, the session in a cookie."""

from __future__ import annotations

from aiohttp import web

from evaluator_service.console.auth import COOKIE_NAME, csrf_matches
from evaluator_service.console.request_context import context_of, render, session_of


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/login", login_form)
    router.add_post("/login", login)
    router.add_post("/logout", logout)


def _next_path(value: object) -> str:
    # Only a local path: an open redirect would turn the login page into a phishing aid.
    if isinstance(value, str) and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


async def login_form(request: web.Request) -> web.Response:
    return render(request, "login.html", next=_next_path(request.query.get("next")), error=None)


async def login(request: web.Request) -> web.Response:
    ctx = context_of(request)
    form = await request.post()
    next_path = _next_path(form.get("next"))
    client = request.remote or "unknown"
    retry_in = ctx.auth.retry_in(client)
    if retry_in > 0:
        return render(request, "login.html", status=429, next=next_path,
                      error=f"Too many wrong keys from {client}; retry in {int(retry_in) + 1} s.")
    key = form.get("key")
    role = ctx.auth.role_of(key) if isinstance(key, str) and key else None
    if role is None:
        if key:
            ctx.auth.failed(client)
        return render(request, "login.html", status=401, next=next_path,
                      error="That key is not the evaluator's admin key or console read-only key.")
    response = web.HTTPSeeOther(next_path)
    response.set_cookie(COOKIE_NAME, ctx.auth.new_cookie(role), max_age=int(ctx.auth.ttl_s), path="/",
                        httponly=True, samesite="Strict", secure=ctx.secure_cookie)
    raise response


async def logout(request: web.Request) -> web.Response:
    form = await request.post()
    session = session_of(request)
    if not csrf_matches(session, form.get("csrf")):
        raise web.HTTPForbidden(text="the form's CSRF token is missing or stale: reload the page and retry")
    response = web.HTTPSeeOther("/login")
    response.del_cookie(COOKIE_NAME, path="/")
    raise response

