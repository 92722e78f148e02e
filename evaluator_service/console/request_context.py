"""What every console page handler uses: the :class:`ConsoleContext`, the session, rendering, the write
check. Page modules import this, never :mod:`.server` (which imports them)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import jinja2
from aiohttp import web

from evaluator_service.console.auth import COOKIE_NAME, ConsoleAuth, Session, csrf_matches
from evaluator_service.console.config_view import ConsoleConfigView
from evaluator_service.console.queries import ConsoleQueries
from evaluator_service.state import SharedState


@dataclass
class ConsoleContext:
    """What the pages read: the shared state, the evaluator's config, the clock, the templates."""

    state: SharedState
    config: ConsoleConfigView
    auth: ConsoleAuth
    queries: ConsoleQueries
    templates: jinja2.Environment
    clock: Callable[[], float] = time.time
    secure_cookie: bool = False

    def trace_url(self, trace_id: str, span_id: str = "") -> str:
        return self.config.console.trace_url.format(trace_id=quote(trace_id), span_id=quote(span_id))


CONTEXT_KEY = web.AppKey("console", ConsoleContext)


def session_of(request: web.Request) -> Session:
    """The logged-in session; the login gate let the request through, so its cookie holds one."""
    session = optional_session(request)
    if session is None:  # the cookie expired between the gate and the handler
        raise web.HTTPUnauthorized(text="log in first")
    return session


def optional_session(request: web.Request) -> Session | None:
    """The session the request's cookie holds, if any (the login page has none)."""
    return context_of(request).auth.session(request.cookies.get(COOKIE_NAME))


def context_of(request: web.Request) -> ConsoleContext:
    return request.app[CONTEXT_KEY]


def render(request: web.Request, template: str, status: int = 200, **values: Any) -> web.Response:
    """A page from ``templates/<template>`` with the session, the nav and ``values``."""
    ctx = context_of(request)
    session = optional_session(request)
    page = ctx.templates.get_template(template).render(
        session=session, path=request.path, trace_url=ctx.trace_url, now=ctx.clock(), **values)
    return web.Response(text=page, status=status, content_type="text/html", charset="utf-8")


def require_write(request: web.Request, form: Any) -> Session:
    """The session of a write action: 403 for a read-only session or a missing/wrong CSRF token."""
    session = session_of(request)
    if not csrf_matches(session, form.get("csrf")):
        raise web.HTTPForbidden(text="the form's CSRF token is missing or stale: reload the page and retry")
    if not session.can_write:
        raise web.HTTPForbidden(text="read-only session: log in with the admin key to change issues")
    return session
