"""Talking to the SMTP relay: where it is (from one URL), sending, and which failures are worth a retry."""

from __future__ import annotations

import time
from dataclasses import dataclass
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


class Connection:
    """One SMTP connection that carries message after message: opened on first use, opened again after the
    relay drops it. One message at a time (SMTP has no pipelining across transactions)."""

    def __init__(self, target: SmtpTarget, *, timeout: float, service: str) -> None:
        self.target = target
        self.timeout = timeout
        self.service = service
        self._client: aiosmtplib.SMTP | None = None
        self.opened = 0  # connections opened so far (for tests and metrics)

    async def _connected(self) -> tuple[aiosmtplib.SMTP, bool]:
        if self._client is not None and self._client.is_connected:
            return self._client, True
        t = self.target
        client = aiosmtplib.SMTP(
            hostname=t.host,
            port=t.port,
            username=t.username,
            password=t.password,
            use_tls=t.use_tls,
            start_tls=t.start_tls,
            timeout=self.timeout,
        )
        await client.connect()
        self._client = client
        self.opened += 1
        return client, False

    async def send(self, sender: str, recipient: str, message: bytes, *, utf8: bool = False) -> None:
        """Hand one message to the relay; raises an aiosmtplib error or OSError when it is not accepted.

        A reused connection the relay has closed in the meantime is opened again and the message tried once
        more on it (a refusal of the message itself is not retried here)."""
        started = time.perf_counter()
        outcome = "error"
        options = ["SMTPUTF8"] if utf8 else None
        try:
            for _ in range(2):
                client, reused = await self._connected()
                try:
                    await client.sendmail(sender, [recipient], message, mail_options=options)
                    break
                except (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPRecipientsRefused):
                    raise  # the relay answered about this message; the connection is still good (RSET)
                except (aiosmtplib.SMTPException, OSError) as exc:
                    await self.close()
                    if not reused or not isinstance(exc, ConnectionError):
                        raise
            outcome = "ok"
        finally:
            UPSTREAM_LATENCY.labels(self.service, "smtp", outcome).observe(time.perf_counter() - started)

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            if client.is_connected:
                await client.quit()
        except (aiosmtplib.SMTPException, OSError):
            client.close()
