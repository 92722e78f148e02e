"""The e-mail of a notification: subject = the summary, a plain-text and an HTML part with the links."""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.utils import formatdate
from html import escape

from evaluator_service.alerts.notification import AlertNotification, shown_value

MESSAGE_ID_DOMAIN = "judgeval.alerts"
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]")


def message_id(key: str) -> str:
    """A Message-ID made from ``key``: the same notification always has the same one (mail systems and
    clients de-duplicate on it), and every mail of one episode references its ``dedup_key`` (threading)."""
    return f"<{_ID_UNSAFE.sub('-', key)}@{MESSAGE_ID_DOMAIN}>"


def _shown(value: float | None, unit: str) -> str:
    return shown_value(value, unit) or "n/a"


def _facts(n: AlertNotification) -> list[tuple[str, str]]:
    facts = [("Alert", n.alert), ("Severity", n.severity.value),
             ("State", f"{n.state} (was {n.previous_state})"), ("Observed", _shown(n.observed, n.unit)),
             ("Threshold", _shown(n.threshold, n.unit)), ("Condition", n.condition)]
    if n.reason:
        facts.append(("Reason", n.reason))
    return facts + [(k, v) for k, v in sorted(n.labels.items())]


def text_body(n: AlertNotification) -> str:
    lines = [n.summary, ""]  # a recovery's summary starts with [RESOLVED]
    lines += [f"{name}: {value}" for name, value in _facts(n)]
    if n.links:
        lines += ["", "Links:"] + [f"  {name}: {url}" for name, url in n.links.items()]
    if n.examples:
        lines += ["", "Traces:"]
        lines += [f"  {e.trace_id} ({e.service_name}) {e.link or ''} {e.reason or ''}".rstrip()
                  for e in n.examples]
    return "\n".join(lines) + "\n"


def html_body(n: AlertNotification) -> str:
    heading = n.summary
    rows = "".join(f"<tr><th align=\"left\">{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in _facts(n))
    parts = [f"<h2>{escape(heading)}</h2>", f"<table>{rows}</table>"]
    if n.links:
        items = "".join(f"<li><a href=\"{escape(url)}\">{escape(name)}</a></li>"
                        for name, url in n.links.items())
        parts.append(f"<h3>Links</h3><ul>{items}</ul>")
    if n.examples:
        items = "".join(
            f"<li>{_trace_html(e.trace_id, e.link)} {escape(e.service_name)}"
            f"{' — ' + escape(e.reason) if e.reason else ''}</li>" for e in n.examples)
        parts.append(f"<h3>Traces</h3><ul>{items}</ul>")
    return "<html><body>" + "".join(parts) + "</body></html>"


def _trace_html(trace_id: str, link: str | None) -> str:
    return f"<a href=\"{escape(link)}\">trace {escape(trace_id)}</a>" if link else f"trace {escape(trace_id)}"


def email_message(n: AlertNotification, sender: str, recipients: tuple[str, ...]) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = " ".join(n.summary.split())
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(n.at, usegmt=True)
    message["Message-ID"] = message_id(n.event_id)
    message["References"] = message_id(n.dedup_key)
    message["X-Judgeval-Event-Id"] = n.event_id
    message["X-Judgeval-Dedup-Key"] = n.dedup_key
    message.set_content(text_body(n))
    message.add_alternative(html_body(n), subtype="html")
    return message
