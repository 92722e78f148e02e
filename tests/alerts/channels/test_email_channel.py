"""The e-mail channel against a real local SMTP server: subject, text and HTML bodies with links, stable
Message-ID, STARTTLS and TLS with certificate checks, AUTH with credentials from the environment, refused
recipients not retried, a temporary refusal retried."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from evaluator_service.alerts.channels import ChannelDelivery
from evaluator_service.alerts.notification import AlertExample
from evaluator_service.config_values import ConfigError
from tests.evaluator.certificates import make_certificates

from .channel_configs import channel_config, make_channel
from .notifications import (
    FIRING_SUMMARY,
    RESOLVED_SUMMARY,
    SPAN_ID,
    TRACE_ID,
    Attempts,
    notification,
    resolved,
)
from .smtp_receiver import SmtpReceiver

ENV = {"SMTP_USER": "alerts-bot", "SMTP_PASSWORD": "pw-5e6f7a8b9c"}


def mailer(smtp: SmtpReceiver, client, **extra):
    entry = {"type": "email", "host": "127.0.0.1", "port": smtp.port, "security": "none",
             "from": "judgeval <alerts@example.com>", "to": ["oncall@example.com", "Lead <lead@example.com>"],
             **extra}
    return make_channel("oncall", entry, client, ENV)


async def test_the_message_has_the_summary_links_and_a_stable_id(client):
    async with SmtpReceiver() as smtp:
        channel = mailer(smtp, client)
        attempt = await channel.send(notification())
        again = await channel.send(notification())  # a retry of the same notification
    assert attempt.ok and again.ok and attempt.target == "email:oncall"
    assert attempt.detail == "2.0.0 queued as 7F3A9C"
    assert channel.destination == f"smtp://127.0.0.1:{smtp.port}"
    first, second = smtp.delivered
    assert first.mail_from == "alerts@example.com"
    assert first.rcpt_tos == ["oncall@example.com", "lead@example.com"]
    m = first.message
    assert m["Subject"] == FIRING_SUMMARY
    assert m["From"] == "judgeval <alerts@example.com>"
    assert m["To"] == "oncall@example.com, Lead <lead@example.com>"
    assert m["Message-ID"] == "<evt-7f3a9c01@judgeval.alerts>" == second.message["Message-ID"]
    assert m["References"] == "<politeness-drop-1796000000@judgeval.alerts>"
    assert m["X-Judgeval-Event-Id"] == "evt-7f3a9c01"
    assert m["X-Judgeval-Dedup-Key"] == "politeness-drop/1796000000"
    assert m["Date"] == "Mon, 30 Nov 2026 00:53:20 +0000"
    text = m.get_body(("plain",)).get_content()
    assert text.splitlines()[:8] == [
        FIRING_SUMMARY, "",
        "Alert: politeness-drop", "Severity: critical", "State: firing (was pending)", "Observed: 35%",
        "Threshold: 20%", "Condition: failure rate above 20% over 5m (at least 20 results)"]
    assert "  issue: http://console:8080/behaviors/b-12" in text
    assert f"  {TRACE_ID} (support-bot) http://jaeger:16686/trace/{TRACE_ID} rude <reply> & curt" in text
    html = m.get_body(("html",)).get_content()
    heading = FIRING_SUMMARY.replace(">", "&gt;")
    assert f"<h2>{heading}</h2>" in html
    assert f'<a href="http://jaeger:16686/trace/{TRACE_ID}">trace {TRACE_ID}</a>' in html
    assert "rude &lt;reply&gt; &amp; curt" in html
    assert '<a href="http://console:8080/behaviors/b-12">issue</a>' in html
    assert "<tr><th align=\"left\">scorer</th><td>Politeness</td></tr>" in html


class Elements(HTMLParser):
    """The start tags of an HTML document with their attributes, as a browser would read them."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


async def test_quotes_and_angle_brackets_in_links_stay_inside_the_href(client):
    hostile = 'http://jaeger:16686/trace/x?service="><script>alert(1)</script>&a=1'
    n = notification(examples=(AlertExample(TRACE_ID, SPAN_ID, "support-bot", "why", hostile),),
                     links={"issue": hostile})
    async with SmtpReceiver() as smtp:
        assert (await mailer(smtp, client).send(n)).ok
    tags = Elements(smtp.delivered[0].message.get_body(("html",)).get_content()).tags
    assert [attrs["href"] for tag, attrs in tags if tag == "a"] == [hostile, hostile]
    assert "script" not in {tag for tag, _ in tags}


async def test_a_resolved_message_says_so(client):
    async with SmtpReceiver() as smtp:
        assert (await mailer(smtp, client).send(resolved(notification()))).ok
    m = smtp.delivered[0].message
    assert m["Subject"] == RESOLVED_SUMMARY
    assert m["References"] == "<politeness-drop-1796000000@judgeval.alerts>"  # the same thread
    assert m.get_body(("plain",)).get_content().startswith("[RESOLVED] politeness-drop on support-bot: ")
    assert "<h2>[RESOLVED] politeness-drop on support-bot: " in m.get_body(("html",)).get_content()


@pytest.mark.parametrize("security", ["starttls", "ssl"])
async def test_tls_with_the_servers_ca_and_login_from_the_environment(client, tmp_path, security):
    certificates = make_certificates(tmp_path / "certs")
    async with SmtpReceiver(security=security, certificates=certificates,
                            credentials=("alerts-bot", "pw-5e6f7a8b9c")) as smtp:
        channel = mailer(smtp, client, security=security, ca_file=str(certificates.ca),
                         username="${env:SMTP_USER}", password_env="SMTP_PASSWORD")
        attempt = await channel.send(notification())
    assert attempt.ok, attempt.detail
    assert smtp.delivered[0].login == "alerts-bot"


async def test_an_untrusted_certificate_is_refused(client, tmp_path):
    certificates = make_certificates(tmp_path / "certs")
    async with SmtpReceiver(security="starttls", certificates=certificates) as smtp:
        channel = mailer(smtp, client, security="starttls", ca_file=str(certificates.other_ca))
        attempt = await channel.send(notification())
    assert not attempt.ok and attempt.retryable and smtp.delivered == []
    assert "CERTIFICATE_VERIFY_FAILED" in attempt.detail, attempt.detail


async def test_wrong_credentials_are_not_retried_and_not_shown(client, tmp_path):
    certificates = make_certificates(tmp_path / "certs")
    async with SmtpReceiver(security="starttls", certificates=certificates,
                            credentials=("alerts-bot", "another-password")) as smtp:
        channel = mailer(smtp, client, security="starttls", ca_file=str(certificates.ca),
                         username="${env:SMTP_USER}", password="${env:SMTP_PASSWORD}")
        attempts = Attempts()
        assert not await ChannelDelivery().deliver(notification(), channel, attempts.record)
    [attempt] = attempts
    assert not attempt.retryable and attempt.detail.startswith("SMTP 535")
    assert "pw-5e6f7a8b9c" not in attempt.detail


async def test_refused_recipients_are_not_retried(client):
    async with SmtpReceiver(rcpt_reply="550 5.1.1 no such user") as smtp:
        attempts = Attempts()
        assert not await ChannelDelivery().deliver(notification(), mailer(smtp, client), attempts.record)
    [attempt] = attempts
    assert attempt == attempt.__class__("email:oncall", False, "every recipient refused (550, 550)", False)


async def test_a_temporary_refusal_is_retried(client):
    async with SmtpReceiver(rcpt_reply="451 4.7.1 greylisted, try again") as smtp:
        channel = mailer(smtp, client, retry={"attempts": 2, "initial_backoff": 0})
        attempts = Attempts()
        assert not await ChannelDelivery().deliver(notification(), channel, attempts.record)
        assert [a.retryable for a in attempts] == [True, True]
        smtp.rcpt_reply = None  # the greylisting passed: the engine's next try gets through
        assert await ChannelDelivery().deliver(notification(), channel, attempts.record)
    assert len(smtp.delivered) == 1


def test_email_config_errors_name_the_field():
    base = {"type": "email", "host": "smtp.example.com", "from": "alerts@example.com",
            "to": ["a@example.com"]}
    with pytest.raises(ConfigError, match=r"^channels\.mail\.to\[1\]: must be an e-mail address"):
        channel_config("mail", {**base, "to": ["a@example.com", "nobody"]})
    with pytest.raises(ConfigError, match=r"^channels\.mail\.security: must be starttls, ssl or none"):
        channel_config("mail", {**base, "security": "tls"})
    with pytest.raises(ConfigError, match=r"^channels\.mail\.password: give both username and password"):
        channel_config("mail", {**base, "username": "${env:SMTP_USER}"}, ENV)
    with pytest.raises(ConfigError, match=r"^channels\.mail\.password: the SMTP password is a secret"):
        channel_config("mail", {**base, "username": "${env:SMTP_USER}", "password": "hunter2"}, ENV)
    with pytest.raises(ConfigError, match=r"^channels\.mail\.ca_file: no such file"):
        channel_config("mail", {**base, "ca_file": "/nonexistent/ca.pem"})
    assert channel_config("mail", base).settings.port == 587  # type: ignore[union-attr]
    assert channel_config("mail", {**base, "security": "ssl"}).settings.port == 465  # type: ignore[union-attr]
