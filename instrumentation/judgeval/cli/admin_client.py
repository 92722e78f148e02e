"""A small synchronous client for the evaluator's ``judgeval.admin.v1.ScorerAdmin`` API."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc

from judgeval.admin.v1 import scorer_admin_pb2 as pb
from judgeval.admin.v1 import scorer_admin_pb2_grpc as pb_grpc
from judgeval.environment_variables import JUDGMENT_API_KEY, JUDGMENT_API_URL
from judgeval.errors import JudgevalError

DEFAULT_API_URL = "localhost:4320"  # the evaluator serves admin next to OTLP/gRPC (its --listen)
UPLOAD_TIMEOUT_S = 900.0
CALL_TIMEOUT_S = 30.0
GRPC_ROOTS_FILE = "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH"
"""gRPC's own variable (not ours): the PEM file of the roots a TLS client trusts, e.g. a private CA."""


class CliError(JudgevalError):
    """A failure to report to the user as one clear message; ``exit_code`` 1 (failed) or 2 (bad input)."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True, slots=True)
class Connection:
    """Where the evaluator is and how to authenticate, resolved flag > env > default."""

    target: str
    secure: bool
    api_key: str
    shown_url: str

    @classmethod
    def resolve(cls, api_url: str | None, api_key: str | None) -> Connection:
        url = (api_url or os.environ.get(JUDGMENT_API_URL) or DEFAULT_API_URL).strip()
        key = api_key if api_key is not None else os.environ.get(JUDGMENT_API_KEY, "")
        if not key:
            raise CliError(
                f"no API key: set {JUDGMENT_API_KEY}=<key> (the evaluator's key) or pass --api-key", 2
            )
        secure = url.startswith("https://")
        target = url.split("://", 1)[-1].rstrip("/")
        return cls(target=target, secure=secure, api_key=key, shown_url=url)


def unreachable_message(url: str, details: str, secure: bool) -> str:
    """What an ``UNAVAILABLE`` admin call means: an untrusted certificate, or no evaluator (or no TLS
    where the evaluator serves it) at ``url``."""
    if secure and "CERTIFICATE_VERIFY_FAILED" in details:
        return (f"the evaluator at {url} presented a certificate this machine does not trust ({details}); "
                f"set {GRPC_ROOTS_FILE}=<file> to the CA file that signed it (gRPC's trusted roots)")
    tls_hint = "" if secure else f"; if it serves TLS (ingress.tls), set {JUDGMENT_API_URL}=https://host:port"
    return (f"cannot reach the evaluator at {url} ({details}); start it or set "
            f"{JUDGMENT_API_URL}=host:port (or pass --api-url) to its admin endpoint{tls_hint}")


class AdminClient:
    """Calls the admin API, turning gRPC errors into :class:`CliError` messages."""

    def __init__(self, connection: Connection,
                 stub_factory: Callable[[grpc.Channel], Any] = pb_grpc.ScorerAdminStub,
                 api_name: str = "judgeval scorer admin API") -> None:
        self.connection = connection
        self._api_name = api_name
        creds = grpc.ssl_channel_credentials() if connection.secure else None
        self._channel = (grpc.secure_channel(connection.target, creds) if creds
                         else grpc.insecure_channel(connection.target))
        self._stub = stub_factory(self._channel)

    def close(self) -> None:
        self._channel.close()

    def call(self, method: str, request: Any, timeout: float = CALL_TIMEOUT_S) -> Any:
        metadata = (("authorization", f"Bearer {self.connection.api_key}"),)
        try:
            return getattr(self._stub, method)(request, metadata=metadata, timeout=timeout)
        except grpc.RpcError as exc:
            raise CliError(self._explain(exc)) from None

    def stream(self, method: str, request: Any, timeout: float | None = None) -> Iterator[Any]:
        """The messages of a server-streaming call, gRPC errors turned into :class:`CliError`."""
        metadata = (("authorization", f"Bearer {self.connection.api_key}"),)
        try:
            yield from getattr(self._stub, method)(request, metadata=metadata, timeout=timeout)
        except grpc.RpcError as exc:
            raise CliError(self._explain(exc)) from None

    def _explain(self, exc: grpc.RpcError) -> str:
        code, details = exc.code(), exc.details() or ""
        url = self.connection.shown_url
        if code == grpc.StatusCode.UNAVAILABLE:
            return unreachable_message(url, details, self.connection.secure)
        if code == grpc.StatusCode.UNAUTHENTICATED:
            return (f"the evaluator at {url} rejected the API key ({details}); set {JUDGMENT_API_KEY} "
                    "to the key the evaluator was started with")
        if code == grpc.StatusCode.DEADLINE_EXCEEDED:
            return f"the evaluator at {url} did not answer in time"
        if code == grpc.StatusCode.UNIMPLEMENTED:
            return f"{url} does not serve the {self._api_name}; check {JUDGMENT_API_URL}"
        return details or f"the evaluator answered {code.name}"


__all__ = ["AdminClient", "CliError", "Connection", "pb"]
