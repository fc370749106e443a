"""The bytes of one e-mail, composed directly: multipart/alternative (plain text and HTML, quoted-printable),
optionally inside multipart/mixed with a PDF. Pure: no I/O.

`email.message.EmailMessage` with the default policy parses every header it is given and folds every header it
writes, about 3 ms per message here (most of the sender's CPU); these messages have a fixed shape, so the
sender writes them itself and only asks the `email` package to encode a non-ASCII subject. Addresses that are
not plain ASCII (or that could carry a header break) go through `rendering.build_message` instead.
"""

from __future__ import annotations

import binascii
import email.policy
from datetime import datetime
from email.header import Header
from email.utils import format_datetime

from notifications.delivery.rendering import build_message

CRLF = b"\r\n"


def _safe(value: str) -> bool:
    return value.isascii() and "\r" not in value and "\n" not in value


def _subject(subject: str) -> bytes:
    if _safe(subject) and len(subject) <= 900:
        return subject.encode("ascii")
    return Header(" ".join(subject.split()), "utf-8").encode(linesep="\r\n").encode("ascii")


def _qp(text: str) -> bytes:
    # Quoted-printable never contains "=_", so the boundaries below cannot occur in a part.
    encoded = binascii.b2a_qp(text.replace("\r\n", "\n").encode("utf-8"), istext=True)
    return encoded.replace(b"\n", CRLF)


def _base64(data: bytes) -> bytes:
    chunks = [binascii.b2a_base64(data[i : i + 57], newline=False) for i in range(0, len(data), 57)]
    return CRLF.join(chunks)


def _multipart(boundary: bytes, parts: list[bytes]) -> bytes:
    out = [b"--" + boundary + CRLF + part + CRLF for part in parts]
    return b"".join(out) + b"--" + boundary + b"--" + CRLF


def _text_part(subtype: str, text: str) -> bytes:
    return (
        b"Content-Type: text/" + subtype.encode() + b'; charset="utf-8"' + CRLF
        + b"Content-Transfer-Encoding: quoted-printable" + CRLF + CRLF + _qp(text)
    )  # fmt: skip


def message_bytes(
    *,
    mail_from: str,
    to_address: str,
    subject: str,
    text: str,
    html: str,
    message_id: str,
    notification_id: str,
    sent_at: datetime,
    attachment: tuple[str, bytes] | None = None,
) -> bytes:
    """The message as it goes over SMTP (CRLF line ends); the same notification gets the same boundaries."""
    if not all(_safe(v) for v in (mail_from, to_address, message_id, notification_id)) or (
        attachment is not None and not _safe(attachment[0])
    ):
        legacy = build_message(
            mail_from=mail_from,
            to_address=to_address,
            subject=subject,
            text=text,
            html=html,
            message_id=message_id,
            notification_id=notification_id,
            sent_at=sent_at,
            attachment=attachment,
        )
        return legacy.as_bytes(policy=email.policy.SMTPUTF8)
    token = "".join(c for c in notification_id if c.isalnum())[:32]
    alternative = f"=_alt_{token}".encode()
    body = _multipart(alternative, [_text_part("plain", text), _text_part("html", html)])
    content_type = b'multipart/alternative; boundary="' + alternative + b'"'
    if attachment is not None:
        filename, data = attachment
        mixed = f"=_mixed_{token}".encode()
        pdf = (
            b"Content-Type: application/pdf" + CRLF
            + b'Content-Disposition: attachment; filename="' + filename.encode() + b'"' + CRLF
            + b"Content-Transfer-Encoding: base64" + CRLF + CRLF + _base64(data)
        )  # fmt: skip
        body = _multipart(mixed, [b"Content-Type: " + content_type + CRLF + CRLF + body, pdf])
        content_type = b'multipart/mixed; boundary="' + mixed + b'"'
    headers = [
        b"From: " + mail_from.encode(),
        b"To: " + to_address.encode(),
        b"Subject: " + _subject(subject),
        b"Message-ID: " + message_id.encode(),
        b"Date: " + format_datetime(sent_at).encode(),
        b"X-Parity-Notification-Id: " + notification_id.encode(),
        b"MIME-Version: 1.0",
        b"Content-Type: " + content_type,
    ]
    return CRLF.join(headers) + CRLF + CRLF + body
