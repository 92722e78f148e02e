"""Checks a ``host:port`` the evaluator will listen on before gRPC or aiohttp try it.

gRPC's own failure is a C-core log line on stderr plus ``Failed to bind to address ...; set
GRPC_VERBOSITY=debug ...``, which names neither the cause nor the fix; and gRPC binds with
``SO_REUSEPORT``, so a second evaluator on a taken port would start and silently share it. Binding a plain
socket first (``SO_REUSEADDR`` only, so connections of a previous run in ``TIME_WAIT`` do not count) turns
each of these user mistakes into one :class:`~evaluator_service.errors.StartupError` line: the port is
taken, the address is not one of this machine's, the host name does not resolve.
"""

from __future__ import annotations

import socket
import ssl

from aiohttp import web

from evaluator_service.errors import StartupError


def check_can_listen(address: str) -> None:
    """Raise :class:`StartupError` unless some address ``host:port`` resolves to can be bound right now."""
    host, _, port = address.rpartition(":")
    host = host.strip("[]")  # "[::]:4317"
    try:
        candidates = socket.getaddrinfo(host or None, int(port), type=socket.SOCK_STREAM,
                                        flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, socket.gaierror) else str(exc)
        raise StartupError(
            f"cannot listen on {address}: host name {host!r} does not resolve ({reason})") from None
    first_error: OSError | None = None
    for family, kind, protocol, _, sockaddr in candidates:
        try:
            with socket.socket(family, kind, protocol) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                probe.bind(sockaddr)
                return
        except OSError as exc:
            first_error = first_error or exc
    reason = (first_error.strerror or str(first_error)) if first_error else "no address to bind"
    raise StartupError(f"cannot listen on {address}: {reason.lower()}")


async def serve_http(runner: web.AppRunner, listen: str, ssl_context: ssl.SSLContext | None) -> int:
    """Set ``runner`` up and serve it on ``listen`` (``host:port``, ``[v6]:port``); returns the bound port
    (``:0`` picks one). The OTLP/HTTP intake and the console both listen this way."""
    await runner.setup()
    host, _, port = listen.rpartition(":")
    site = web.TCPSite(runner, host.strip("[]") or None, int(port), ssl_context=ssl_context)
    await site.start()
    return int(runner.addresses[0][1])
