"""The e-mail channel: one message per notification through an SMTP server (``aiosmtplib``).

::

    oncall-email:
      type: email
      host: smtp.example.com
      port: 587                          # default: 587 for starttls, 465 for ssl, 25 for none
      security: starttls                 # starttls (default) | ssl | none
      username: "${env:SMTP_USERNAME}"   # optional (with password); from the environment only
      password: "${env:SMTP_PASSWORD}"
      from: "judgeval <alerts@example.com>"
      to: [oncall@example.com]
      ca_file: /etc/ssl/certs/corp-ca.pem   # optional: trust this CA for the server's certificate

A refused recipient list, a refused sender or failed authentication (SMTP 5xx) is not retried; a
connection failure, a timeout or a 4xx (greylisting, a full queue) is.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path

import aiosmtplib

from evaluator_service.alerts.channels.email_body import email_message
from evaluator_service.alerts.channels.env_refs import read_secret, secret_keys
from evaluator_service.alerts.channels.policy import DeliveryPolicy
from evaluator_service.alerts.notification import AlertNotification, DeliveryAttempt
from evaluator_service.config_values import ConfigError, Section

SECURITY_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
EMAIL_KEYS = frozenset({"host", "port", "security", "from", "to", "ca_file", *secret_keys("username"),
                        *secret_keys("password")})


@dataclass(frozen=True)
class EmailSettings:
    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    security: str = "starttls"
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None


def parse_email(s: Section, environ: Mapping[str, str]) -> EmailSettings:
    security = s.opt_str("security") or "starttls"
    if security not in SECURITY_PORTS:
        raise ConfigError(f"{s.where('security')}: must be starttls, ssl or none, got {security!r}")
    port = s.integer("port", SECURITY_PORTS[security], minimum=1)
    if port > 65535:
        raise ConfigError(f"{s.where('port')}: must be <= 65535, got {port}")
    to = s.data.get("to")
    if isinstance(to, str):
        to = [to]
    if not isinstance(to, list) or not to:
        raise ConfigError(f"{s.where('to')}: required (a list of e-mail addresses)")
    recipients = tuple(_address(value, f"{s.where('to')}[{i}]") for i, value in enumerate(to))
    sender = s.req_str("from", "required (the sender address, e.g. \"judgeval <alerts@example.com>\")")
    _address(sender, s.where("from"))
    username = read_secret(s, "username", environ, required=False, what="the SMTP user name")
    password = read_secret(s, "password", environ, required=False, what="the SMTP password")
    if (username is None) != (password is None):
        raise ConfigError(f"{s.where('password')}: give both username and password, or neither")
    ca_file = s.opt_str("ca_file")
    if ca_file is not None and security == "none":
        raise ConfigError(f"{s.where('ca_file')}: only used with security starttls or ssl")
    if ca_file is not None and not Path(ca_file).is_file():
        raise ConfigError(f"{s.where('ca_file')}: no such file: {ca_file}")
    return EmailSettings(host=s.req_str("host", "required (the SMTP server's host name)"), port=port,
                         sender=sender, recipients=recipients, security=security, username=username,
                         password=password, ca_file=ca_file)


def _address(value: object, where: str) -> str:
    if not isinstance(value, str) or "@" not in parseaddr(value)[1]:
        raise ConfigError(f"{where}: must be an e-mail address, got {value!r}")
    return value


class EmailChannel:
    """Sends :func:`~evaluator_service.alerts.channels.email_body.email_message` over SMTP."""

    def __init__(self, name: str, settings: EmailSettings, policy: DeliveryPolicy) -> None:
        self.name = f"email:{name}"
        self.destination = f"smtp://{settings.host}:{settings.port}"
        self.policy = policy
        self._settings = settings
        self._tls: ssl.SSLContext | None = None
        if settings.security != "none":
            self._tls = ssl.create_default_context(cafile=settings.ca_file)

    async def send(self, notification: AlertNotification) -> DeliveryAttempt:
        s = self._settings
        message = email_message(notification, s.sender, s.recipients)
        try:
            refused, reply = await aiosmtplib.send(
                message, sender=parseaddr(s.sender)[1], recipients=[parseaddr(r)[1] for r in s.recipients],
                hostname=s.host, port=s.port, username=s.username, password=s.password,
                use_tls=s.security == "ssl", start_tls=s.security == "starttls", tls_context=self._tls,
                timeout=self.policy.timeout_s)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            return self._failed(f"every recipient refused ({', '.join(map(str, codes))})",
                                retryable=any(400 <= c < 500 for c in codes))
        except aiosmtplib.SMTPResponseException as exc:
            return self._failed(f"SMTP {exc.code}: {exc.message}", retryable=exc.code < 500)
        except aiosmtplib.SMTPTimeoutError:
            return self._failed(f"timed out after {self.policy.timeout_s:g}s", retryable=True)
        except (aiosmtplib.SMTPException, OSError) as exc:
            return self._failed(f"{type(exc).__name__}: {exc}", retryable=True)
        detail = " ".join(reply.split())[:200] or "sent"
        if refused:
            detail += f" ({len(refused)} of {len(s.recipients)} recipients refused: {', '.join(refused)})"
        return DeliveryAttempt(self.name, True, detail)

    def _failed(self, detail: str, *, retryable: bool) -> DeliveryAttempt:
        for secret in (self._settings.username, self._settings.password):
            if secret:
                detail = detail.replace(secret, "***")
        return DeliveryAttempt(self.name, False, " ".join(detail.split())[:300], retryable=retryable)
