"""How senders reach the evaluator's OTLP intake: TLS (optionally mutual), a bearer token, OTLP/HTTP.

The YAML section ``ingress:`` (all optional; with none of it the evaluator listens in plaintext without a
token, which suits its default loopback address)::

    ingress:
      http_listen: 127.0.0.1:4321       # OTLP/HTTP /v1/traces beside gRPC; unset = off
      bearer_token: ...                 # or env JUDGEVAL_EVALUATOR_OTLP_TOKEN (the env wins)
      tls:
        cert_file: /etc/judgeval/server.crt
        key_file: /etc/judgeval/server.key
        client_ca_file: /etc/judgeval/ca.crt   # mTLS: only clients with a certificate from this CA

TLS covers everything on the gRPC listener (OTLP, health and the admin API) and the HTTP listener. The
token is what the collector's ``bearertokenauth`` extension sends (``authorization: Bearer <token>``); it
guards OTLP ``Export`` only, since the admin API has its own key and health checks carry none.
"""

from __future__ import annotations

import hmac
import ssl
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from evaluator_service.config_values import ConfigError, Section
from evaluator_service.environment_variables import JUDGEVAL_EVALUATOR_OTLP_TOKEN
from evaluator_service.errors import StartupError

TRACE_EXPORT_PREFIX = "/opentelemetry.proto.collector.trace.v1.TraceService/"
AUTHORIZATION = "authorization"


@dataclass(frozen=True)
class TlsConfig:
    """Server certificate and key (PEM), and for mutual TLS the CA client certificates must chain to."""

    cert_file: Path
    key_file: Path
    client_ca_file: Path | None = None


@dataclass(frozen=True)
class IngressConfig:
    """YAML ``ingress:``: TLS, the OTLP bearer token and the OTLP/HTTP listener."""

    tls: TlsConfig | None = None
    bearer_token: str | None = None
    http_listen: str | None = None

    def __repr__(self) -> str:  # never print the token
        token = "set" if self.bearer_token else None
        return f"IngressConfig(tls={self.tls!r}, bearer_token={token}, http_listen={self.http_listen!r})"


def parse_ingress(s: Section, env: Mapping[str, str], normalize: Callable[[str, str], str]) -> IngressConfig:
    """Parse ``ingress:``; ``normalize`` checks a ``host:port`` (the config module's endpoint rule)."""
    s.reject_unknown(frozenset({"tls", "bearer_token", "http_listen"}))
    token = env.get(JUDGEVAL_EVALUATOR_OTLP_TOKEN) or s.opt_str("bearer_token")
    if token is not None and (not token.strip() or any(c in token for c in "\r\n")):
        raise ConfigError(f"{s.where('bearer_token')}: must be a non-empty single-line string")
    http_listen = s.opt_str("http_listen")
    return IngressConfig(
        tls=_parse_tls(s.section("tls")) if s.has("tls") else None,
        bearer_token=token,
        http_listen=normalize(http_listen, s.where("http_listen")) if http_listen else None,
    )


def _parse_tls(s: Section) -> TlsConfig:
    s.reject_unknown(frozenset({"cert_file", "key_file", "client_ca_file"}))
    files = {}
    for key in ("cert_file", "key_file", "client_ca_file"):
        value = s.opt_str(key) if key == "client_ca_file" else s.req_str(key, "required when tls is set")
        if value is not None:
            if not Path(value).is_file():
                raise ConfigError(f"{s.where(key)}: no such file: {value}")
            files[key] = Path(value)
    return TlsConfig(**files)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise StartupError(f"cannot read {path}: {exc.strerror or exc}") from exc


def grpc_credentials(tls: TlsConfig) -> grpc.ServerCredentials:
    """Server credentials for ``add_secure_port``; mutual TLS when a client CA is configured. The files are
    checked with :func:`ssl_context` first: gRPC would only log a C-core line and fail to bind."""
    ssl_context(tls)
    ca = _read(tls.client_ca_file) if tls.client_ca_file else None
    return grpc.ssl_server_credentials(
        [(_read(tls.key_file), _read(tls.cert_file))], root_certificates=ca,
        require_client_auth=ca is not None,
    )


def ssl_context(tls: TlsConfig) -> ssl.SSLContext:
    """The same TLS settings for the OTLP/HTTP listener."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(tls.cert_file, tls.key_file)
        if tls.client_ca_file:
            context.load_verify_locations(tls.client_ca_file)
            context.verify_mode = ssl.CERT_REQUIRED
    except (OSError, ssl.SSLError) as exc:
        raise StartupError(f"TLS certificate or key unusable: {exc}") from exc
    return context


def token_matches(header: str | None, token: str) -> bool:
    """Whether an ``authorization`` value is ``Bearer <token>`` (scheme case-insensitive, constant time)."""
    if not header:
        return False
    scheme, _, value = header.strip().partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode())


class BearerTokenInterceptor(grpc.aio.ServerInterceptor):
    """Refuses OTLP ``Export`` calls without the configured bearer token with ``UNAUTHENTICATED``."""

    def __init__(self, token: str) -> None:
        self._token = token
        self._refuse = grpc.unary_unary_rpc_method_handler(self._unauthenticated)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        if details.method.startswith(TRACE_EXPORT_PREFIX):
            metadata: Any = details.invocation_metadata or ()
            header = next((v for k, v in metadata if k == AUTHORIZATION), None)
            if not token_matches(header if isinstance(header, str) else None, self._token):
                return self._refuse
        return await continuation(details)

    @staticmethod
    async def _unauthenticated(request: object, context: grpc.aio.ServicerContext) -> None:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong bearer token for OTLP export")
