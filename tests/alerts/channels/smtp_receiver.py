"""A real local SMTP server (aiosmtpd on 127.0.0.1, port 0, in the test's event loop): plain, STARTTLS or
TLS from the first byte, optional AUTH, scripted refusals; every accepted message is parsed and kept."""

from __future__ import annotations

import asyncio
import ssl
import warnings
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from tests.evaluator.certificates import Certificates


@dataclass(frozen=True)
class Delivered:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    login: str | None


class SmtpReceiver:
    """``async with SmtpReceiver(...) as smtp``: ``smtp.port``, ``smtp.delivered``."""

    def __init__(self, *, security: str = "none", certificates: Certificates | None = None,
                 credentials: tuple[str, str] | None = None, rcpt_reply: str | None = None) -> None:
        self.security = security
        self.certificates = certificates
        self.credentials = credentials
        self.rcpt_reply = rcpt_reply
        """Answer every RCPT TO with this (``"550 5.1.1 no such user"``) instead of accepting it."""
        self.delivered: list[Delivered] = []
        self.port = 0
        self._server: asyncio.Server | None = None

    def _tls(self) -> ssl.SSLContext:
        assert self.certificates is not None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.certificates.server_cert, self.certificates.server_key)
        return context

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
                      ) -> AuthResult:
        ok = (isinstance(data, LoginPassword) and self.credentials is not None
              and (data.login.decode(), data.password.decode()) == self.credentials)
        return AuthResult(success=ok, handled=False, auth_data=data.login.decode() if ok else None)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        login = session.auth_data if isinstance(session.auth_data, str) else None
        self.delivered.append(Delivered(envelope.mail_from, list(envelope.rcpt_tos), message, login))
        return "250 2.0.0 queued as 7F3A9C"

    def _protocol(self) -> SMTP:
        starttls = self.security == "starttls"
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")
            return self._smtp(starttls)

    def _smtp(self, starttls: bool) -> SMTP:
        return SMTP(self, hostname="localhost", tls_context=self._tls() if starttls else None,
                    require_starttls=starttls, auth_required=self.credentials is not None,
                    # aiosmtpd sees TLS only after STARTTLS; with implicit TLS the whole socket is encrypted
                    auth_require_tls=starttls,
                    authenticator=self._authenticate if self.credentials else None)

    async def __aenter__(self) -> SmtpReceiver:
        loop = asyncio.get_running_loop()
        tls = self._tls() if self.security == "ssl" else None
        self._server = await loop.create_server(self._protocol, "127.0.0.1", 0, ssl=tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
