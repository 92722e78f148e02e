"""The console's aiohttp application: routes, the login gate, templates, static files.

Every page but ``/login`` and ``/static/`` needs a session (:mod:`.auth`); a request without one is sent to
the login form (pages) or refused with 401 (anything else). POSTs other than the login form must carry the
session's CSRF token, and the write actions need the admin role (403 otherwise). Templates are Jinja2 with
autoescape on; charts are Plotly.js, served from the ``plotly`` package itself (no CDN). Responses carry a
Content-Security-Policy allowing only our own scripts.
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Awaitable, Callable
from importlib import resources
from pathlib import Path
from urllib.parse import quote

import jinja2
import plotly
from aiohttp import web

from evaluator_service.console import (
    alert_pages,
    failing_pages,
    issue_pages,
    login_pages,
    not_evaluated_pages,
    overview_pages,
    scorer_pages,
)
from evaluator_service.console.auth import ConsoleAuth
from evaluator_service.console.config_view import ConsoleConfigView
from evaluator_service.console.formatting import FILTERS
from evaluator_service.console.queries import ConsoleQueries, ConsoleQueryError
from evaluator_service.console.request_context import (
    CONTEXT_KEY,
    ConsoleContext,
    optional_session,
    render,
)
from evaluator_service.listen_address import serve_http
from evaluator_service.state import SharedState
from evaluator_service.state.contract import StateUnavailable

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
OPEN_PATHS = ("/login", "/static/")


@web.middleware
async def _security(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith(OPEN_PATHS) and optional_session(request) is None:
        if request.method == "GET":
            raise web.HTTPSeeOther(f"/login?next={quote(request.path_qs, safe='')}")
        raise web.HTTPUnauthorized(text="log in first")
    try:
        response = await handler(request)
    except ConsoleQueryError as exc:  # a filter or range the read API cannot answer
        response = render(request, "error.html", status=400, title="Cannot show that", message=str(exc),
                          hint="Change the filter or range and try again.")
    except StateUnavailable as exc:
        logger.warning("console: state database unavailable: %s", exc)
        response = render(request, "error.html", status=503, title="The state database is unavailable",
                          message=str(exc), hint="The console reads everything from the shared state "
                          "database; reload once it is reachable again.")
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if not request.path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


class ConsoleServer:
    """The console's HTTP server; :meth:`start` binds ``config.console.listen``, :meth:`stop` closes."""

    def __init__(self, config: ConsoleConfigView, state: SharedState, *,
                 clock: Callable[[], float] = time.time, queries: ConsoleQueries | None = None) -> None:
        console = config.console
        templates = jinja2.Environment(
            loader=jinja2.PackageLoader("evaluator_service.console", "templates"),
            autoescape=True, undefined=jinja2.StrictUndefined)
        templates.filters.update(FILTERS)
        self.context = ConsoleContext(
            state=state, config=config, templates=templates, clock=clock,
            auth=ConsoleAuth(config.api_key, console.read_only_key, console.session_ttl_s),
            queries=queries or ConsoleQueries(state, config.console_data, clock),
            secure_cookie=console.secure_cookie if console.secure_cookie is not None
            else config.ingress.tls is not None)
        self._runner: web.AppRunner | None = None
        self.port = 0

    def application(self) -> web.Application:
        app = web.Application(middlewares=[_security], client_max_size=64 * 1024)
        app[CONTEXT_KEY] = self.context
        login_pages.add_routes(app.router)
        overview_pages.add_routes(app.router)
        issue_pages.add_routes(app.router)
        alert_pages.add_routes(app.router)
        scorer_pages.add_routes(app.router)
        failing_pages.add_routes(app.router)
        not_evaluated_pages.add_routes(app.router)
        app.router.add_get("/static/plotly.min.js", _plotly)
        app.router.add_static("/static/", Path(str(resources.files("evaluator_service.console") / "static")))
        return app

    async def start(self, listen: str, ssl_context: ssl.SSLContext | None = None) -> None:
        self._runner = web.AppRunner(self.application(), access_log=None)
        self.port = await serve_http(self._runner, listen, ssl_context)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


async def _plotly(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(PLOTLY_JS, headers={"Cache-Control": "public, max-age=86400"})
