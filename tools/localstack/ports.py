"""Which ports the local stack asks for, and what it tells the user about the ones it got.

By default the stack takes the standard ports when they are free (OTLP 4317/4318, Jaeger UI 16686, the
evaluator's console 8080), so an agent with no OTLP setting (``opentelemetry-instrument python app.py``
exports to 127.0.0.1:4317) reaches it. A taken port is replaced by a free one, and the stack says which
port and what to set. Tests ask for free ports only (``--ports random``).
"""

from __future__ import annotations

from dataclasses import dataclass

from judgeval import environment_variables

from tools.localstack.procs import endpoint_port

OTLP_GRPC_PORT = 4317
"""OTLP/gRPC, where OpenTelemetry SDKs export when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is unset."""
OTLP_HTTP_PORT = 4318
"""OTLP/HTTP (``OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf``)."""
JAEGER_UI_PORT = 16686
"""Jaeger's UI and HTTP API."""
CONSOLE_PORT = 8080
"""The evaluator's web console (``--console-listen``)."""


@dataclass(frozen=True)
class WantedPorts:
    """The ports the stack asks for; ``None`` means any free port."""

    otlp_grpc: int | None
    otlp_http: int | None
    jaeger_ui: int | None
    console: int | None

    @classmethod
    def named(cls, choice: str) -> WantedPorts:
        """``standard`` (the default) or ``random``."""
        if choice == "random":
            return cls(None, None, None, None)
        return cls(OTLP_GRPC_PORT, OTLP_HTTP_PORT, JAEGER_UI_PORT, CONSOLE_PORT)


def otlp_grpc_line(who: str, endpoint: str, wanted: int | None) -> str:
    """What to tell agents about the OTLP/gRPC endpoint ``who`` listens on."""
    setting = f"OTEL_EXPORTER_OTLP_ENDPOINT=http://{endpoint}"
    return _line(f"{who} takes OTLP/gRPC", endpoint, wanted,
                 "agents reach it with no OTLP setting", f"set {setting}")


def otlp_http_line(who: str, endpoint: str, wanted: int | None) -> str:
    """What to tell agents about the OTLP/HTTP endpoint ``who`` listens on."""
    setting = f"OTEL_EXPORTER_OTLP_ENDPOINT=http://{endpoint} OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf"
    return _line(f"{who} takes OTLP/HTTP", endpoint, wanted, "the standard port", f"set {setting}")


def jaeger_ui_line(url: str, wanted: int | None) -> str:
    """Where the Jaeger UI is."""
    return _line("Jaeger UI", url, wanted, "the standard port", "open that address")


def console_lines(url: str, wanted: int | None, api_key: str) -> list[str]:
    """Where the console is and the key to log in with (the stack's own: a local throwaway key)."""
    return [_line("the console", url, wanted, "open it in a browser", "open that address"),
            f"    log in with the stack's key: {api_key}"]


def cli_line(admin_endpoint: str, api_key: str) -> str:
    """What points the ``judgeval`` CLI (alerts, behaviors, scorers, datasets, ...) at the stack's
    evaluator."""
    return (f"==> the judgeval CLI: export {environment_variables.JUDGMENT_API_URL}={admin_endpoint} "
            f"{environment_variables.JUDGMENT_API_KEY}={api_key}")


def _line(what: str, where: str, wanted: int | None, when_standard: str, otherwise: str) -> str:
    if wanted is None:
        return f"==> {what} on {where} ({otherwise})"
    if endpoint_port(where) == wanted:
        return f"==> {what} on {where} ({when_standard})"
    return f"==> port {wanted} is taken: {what} on {where} instead; {otherwise}"
