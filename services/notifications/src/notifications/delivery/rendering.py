"""Turning an intent into an e-mail: Jinja2 templates (a plain-text and an HTML part) and the MIME message."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from notifications.delivery.directory import Contact


def long_date(iso: str | None) -> str:
    if not iso:
        return ""
    d = date.fromisoformat(iso)
    return f"{d:%B} {d.day}, {d.year}"


def session_label(session: dict[str, Any]) -> str:
    """ "on March 3, 2026" when we know the date, else a short reference the front end also shows."""
    if session.get("date"):
        return f"on {long_date(session['date'])}"
    return f"(reference {str(session['id'])[:8]})"


ENV = Environment(
    loader=PackageLoader("notifications", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    auto_reload=False,  # templates ship with the code: no stat() of each file on every e-mail
)
ENV.filters["longdate"] = long_date
ENV.globals["session_label"] = session_label


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def links(*, frontend_url: str, support_url: str) -> dict[str, str]:
    base = frontend_url.rstrip("/")
    return {
        "home": base,
        "pay_now": f"{base}/appointments/past",
        "past_appointments": f"{base}/appointments/past",
        "benefits": f"{base}/benefits",
        "insurance": f"{base}/account/insurance",
        "preferences": f"{base}/settings/notifications",
        "sessions": f"{base}/sessions",
        "support": support_url,
    }


def render(
    template: str,
    context: dict[str, Any],
    *,
    recipient: Contact,
    client: Contact | None,
    link_map: dict[str, str],
) -> Rendered:
    """Render the subject, plain-text and HTML parts of one template."""
    variables = {**context, "recipient": recipient, "client": client, "links": link_map}
    text_template = ENV.get_template(f"{template}.txt.j2")
    ctx = text_template.new_context(variables)
    subject = " ".join("".join(text_template.blocks["subject"](ctx)).split())
    text = "".join(text_template.blocks["body"](ctx)).strip() + "\n"
    html = ENV.get_template(f"{template}.html.j2").render(variables, subject=subject)
    return Rendered(subject=subject, text=text, html=html)


def message_id_for(notification_id: object, mail_from: str) -> str:
    """A deterministic Message-ID: a re-send after a crash carries the same one, so receivers can dedupe."""
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "parity.local"
    return f"<{notification_id}@{domain}>"


def build_message(
    *,
    mail_from: str,
    to_address: str,
    subject: str,
    text: str,
    html: str,
    message_id: str,
    notification_id: str,
    sent_at: Any,
    attachment: tuple[str, bytes] | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = to_address
    message["Subject"] = subject
    message["Message-ID"] = message_id
    message["Date"] = format_datetime(sent_at)
    message["X-Parity-Notification-Id"] = notification_id
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    if attachment is not None:
        filename, data = attachment
        message.add_attachment(data, maintype="application", subtype="pdf", filename=filename)
    return message
