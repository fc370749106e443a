"""Talking to the SMTP relay: where it is (from one URL), sending, and which failures are worth a retry."""

from __future__ import annotations

import time
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from kit.metrics import UPSTREAM_LATENCY

FailureKind = Literal["transient", "permanent"]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    use_tls: bool = False  # smtps://: TLS from the first byte
    start_tls: bool | None = None  # None: upgrade when the server offers STARTTLS


def parse_smtp_url(url: str) -> SmtpTarget:
    """`smtp://user:pass@host:587?starttls=true` or `smtps://host:465`; ValueError when it is neither."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError("the SMTP URL must start with smtp:// or smtps://")
    if not parts.hostname:
        raise ValueError("the SMTP URL has no host")
    use_tls = parts.scheme == "smtps"
    try:
        port = parts.port or (465 if use_tls else 25)
    except ValueError as exc:
        raise ValueError("the SMTP URL has an invalid port") from exc
    start_tls: bool | None = None
    values = parse_qs(parts.query).get("starttls")
    if values:
        flag = values[-1].lower()
        if flag not in _TRUE | _FALSE:
            raise ValueError("starttls must be true or false")
        start_tls = flag in _TRUE
    if use_tls and start_tls:
        raise ValueError("smtps:// already uses TLS; starttls=true does not apply")
    return SmtpTarget(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        use_tls=use_tls,
        start_tls=False if use_tls else start_tls,
    )


def classify(exc: BaseException) -> FailureKind:
    """A 5xx about this message is permanent; a 4xx, a refused connection or a timeout is worth a retry.

    Authentication failures are retried too: they are a relay configuration problem, not the message's.
    """
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        return "permanent" if codes and all(c >= 500 for c in codes) else "transient"
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError | aiosmtplib.SMTPConnectError):
        return "transient"
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return "permanent" if exc.code >= 500 else "transient"
    return "transient"


def describe(exc: BaseException) -> str:
    """The failure as ops see it: the SMTP code and text, never the message."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return "; ".join(f"{r.code} {r.message}" for r in exc.recipients)[:500] or "recipients refused"
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return f"{exc.code} {exc.message}"[:500]
    return f"{type(exc).__name__}: {exc}"[:500]


async def send(target: SmtpTarget, message: EmailMessage, *, timeout: float, service: str) -> None:
    """Hand one message to the relay; raises an aiosmtplib error or OSError when it is not accepted."""
    started = time.perf_counter()
    outcome = "error"
    try:
        await aiosmtplib.send(
            message,
            hostname=target.host,
            port=target.port,
            username=target.username,
            password=target.password,
            use_tls=target.use_tls,
            start_tls=target.start_tls,
            timeout=timeout,
        )
        outcome = "ok"
    finally:
        UPSTREAM_LATENCY.labels(service, "smtp", outcome).observe(time.perf_counter() - started)
