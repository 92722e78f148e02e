"""The evaluator's network listeners, split from :mod:`evaluator_service.app` along the seam between
assembling components (the app) and opening sockets (here): the gRPC server (interceptors, message limits,
the trace and health services, plug-in installers) and the port it binds, the OTLP/HTTP intake and the web
console. Each refusal to listen becomes one :class:`~evaluator_service.errors.StartupError` line.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import grpc
from grpc_health.v1 import health, health_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

from evaluator_service.config import EvaluatorConfig
from evaluator_service.console.queries import ConsoleQueries
from evaluator_service.errors import StartupError
from evaluator_service.forwarder import MAX_MESSAGE_BYTES
from evaluator_service.http_intake import OtlpHttpIntake
from evaluator_service.ingress import BearerTokenInterceptor, IngressConfig, grpc_credentials, ssl_context
from evaluator_service.intake import TraceIntakeServicer
from evaluator_service.listen_address import check_can_listen
from evaluator_service.request_guard import MalformedRequestInterceptor
from evaluator_service.state import SharedState

if TYPE_CHECKING:
    from evaluator_service.console.server import ConsoleServer

logger = logging.getLogger("evaluator_service.app")  # the app's log, as before the split

ServiceInstaller = Callable[[grpc.aio.Server], None]
"""Registers an extra gRPC service (e.g. the admin API) on the evaluator's server before it starts."""

TRACE_SERVICE_NAME = "opentelemetry.proto.collector.trace.v1.TraceService"

LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")
"""Hosts a console may listen on over plain HTTP without a warning."""


def check_listen_addresses(config: EvaluatorConfig) -> None:
    """Raise :class:`StartupError` unless every address the evaluator will listen on can be bound now;
    called before anything is started: one clear line, no gRPC log."""
    check_can_listen(config.listen)
    if config.ingress.http_listen:
        check_can_listen(config.ingress.http_listen)
    if config.console.listen:
        check_can_listen(config.console.listen)


def build_grpc_server(intake: TraceIntakeServicer, health_servicer: health.aio.HealthServicer,
                      installers: Sequence[ServiceInstaller], bearer_token: str | None) -> grpc.aio.Server:
    """The evaluator's gRPC server with the trace and health services and every installer's services."""
    # Outermost first: a request without the token is refused before its body is even parsed.
    interceptors: list[grpc.aio.ServerInterceptor] = (
        [BearerTokenInterceptor(bearer_token)] if bearer_token else [])
    interceptors.append(MalformedRequestInterceptor())
    server = grpc.aio.server(interceptors=interceptors, options=[
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ])
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(intake, server)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for install in installers:
        install(server)
    return server


def bind_grpc_port(server: grpc.aio.Server, listen: str, ingress: IngressConfig) -> int:
    """Bind ``listen`` (with TLS when ``ingress.tls`` is set); returns the real port."""
    tls = ingress.tls
    try:
        port = (server.add_secure_port(listen, grpc_credentials(tls)) if tls
                else server.add_insecure_port(listen))
    except RuntimeError as exc:  # grpc's "Failed to bind to address ..."
        raise StartupError(str(exc)) from exc
    if not port:
        raise StartupError(f"cannot listen on {listen}")
    return port


async def start_http_intake(intake: TraceIntakeServicer, listen: str,
                            ingress: IngressConfig) -> OtlpHttpIntake:
    """Serve OTLP/HTTP on ``listen`` (``ingress.http_listen``) into ``intake``."""
    tls = ingress.tls
    http = OtlpHttpIntake(intake, ingress.bearer_token)
    try:
        await http.start(listen, ssl_context(tls) if tls else None)
    except OSError as exc:  # the address is taken or not ours
        await http.stop()
        raise StartupError(f"cannot listen on {listen}: {exc.strerror or exc}") from exc
    return http


async def start_console(config: EvaluatorConfig, state: SharedState, listen: str, *,
                        clock: Callable[[], float] = time.time,
                        queries: ConsoleQueries | None = None) -> ConsoleServer:
    """Serve the web console on ``listen`` (``console.listen``), warning when it is plain HTTP off this
    host."""
    from evaluator_service.console.server import ConsoleServer  # templates and plotly only when enabled

    console = ConsoleServer(config, state, clock=clock, queries=queries)
    tls = config.ingress.tls
    if tls is None and listen.rpartition(":")[0] not in LOCAL_HOSTS:
        logger.warning("console on %s over plain HTTP: keys and session cookies cross the network in "
                       "clear; set ingress.tls or serve it behind a TLS proxy", listen)
    try:
        await console.start(listen, ssl_context(tls) if tls else None)
    except OSError as exc:
        await console.stop()
        raise StartupError(f"cannot listen on {listen} (console): {exc.strerror or exc}") from exc
    return console
