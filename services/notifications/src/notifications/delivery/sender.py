"""The sender: drains due e-mails off the consumers' path, so a slow or absent relay never holds up events.

Exactly once per (event, recipient, template), as far as SMTP allows: the row (with a fixed Message-ID) is
committed before sending; a sender leases a batch of rows, renders each once (the rendering is stored before
anything is sent, so a re-send is the same message), sends the batch over a few long-lived SMTP connections,
then records every outcome of the batch in one transaction. If the process dies after the relay accepted
messages but before `sent` is recorded, their lease runs out and they are sent again with the same
Message-ID. That window (one batch, well under a second) is the residual risk: SMTP has no idempotency key, so
the person may receive a duplicate, which most mailbox providers collapse because the Message-ID is the same.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import parseaddr
from typing import Any, Literal

from aiosmtplib import SMTPException

from contracts.events import NotificationStatusChanged
from kit.runtime import Runtime
from notifications.config import Settings
from notifications.delivery import repository, smtp
from notifications.delivery.directory import Directory, DirectoryUnavailable
from notifications.delivery.mime import message_bytes
from notifications.delivery.plan import client_shown
from notifications.delivery.policy import gives_up, retry_at
from notifications.delivery.rendering import links, render
from notifications.metrics import EMAILS
from notifications.models import Notification

log = logging.getLogger("notifications.sender")

Status = Literal["sent", "failed"]


class PermanentFailure(Exception):
    """This e-mail can never go out as it is (no address on file, a 5xx from the relay)."""


def _settings(runtime: Runtime) -> Settings:
    settings = runtime.settings
    assert isinstance(settings, Settings)
    return settings


class Mailer:
    """The SMTP connections a sender keeps open: `sender_concurrency` of them, one message at a time each."""

    def __init__(self, settings: Settings) -> None:
        target = smtp.parse_smtp_url(settings.smtp_url)
        self.connections = [
            smtp.Connection(target, timeout=settings.smtp_timeout_s, service=settings.service_name)
            for _ in range(max(settings.sender_concurrency, 1))
        ]
        self.envelope_from = parseaddr(settings.mail_from)[1]

    async def send_all(self, messages: list[tuple[str, bytes]]) -> list[BaseException | None]:
        """Send (recipient, message) pairs, each connection taking the next one; None where accepted."""
        results: list[BaseException | None] = [None] * len(messages)
        todo = iter(range(len(messages)))

        async def work(connection: smtp.Connection) -> None:
            for i in todo:  # shared by the workers: each message is taken by exactly one of them
                to, data = messages[i]
                try:
                    await connection.send(
                        self.envelope_from, to, data, utf8=not (to.isascii() and self.envelope_from.isascii())
                    )
                except (SMTPException, OSError) as exc:
                    results[i] = exc

        await asyncio.gather(*(work(c) for c in self.connections[: len(messages)]))
        return results

    async def close(self) -> None:
        for connection in self.connections:
            await connection.close()


async def claim(runtime: Runtime) -> list[Notification]:
    """Lease the next batch of due e-mails (one statement); empty when none is due."""
    settings = _settings(runtime)
    now = runtime.clock.now()
    async with runtime.db.statements() as session:  # one statement: it needs no BEGIN and COMMIT around it
        return await repository.claim_due(
            session,
            now=now,
            lease_until=now + timedelta(seconds=settings.sender_lease_s),
            limit=settings.sender_batch_size,
        )


async def drain(runtime: Runtime, mailer: Mailer | None = None) -> int:
    """Send every e-mail that is due now, a batch at a time; returns how many were attempted."""
    settings = _settings(runtime)
    own = mailer is None
    mailer = mailer or Mailer(settings)
    handled = 0
    try:
        while batch := await claim(runtime):
            await deliver(runtime, batch, mailer)
            handled += len(batch)
        return handled
    finally:
        if own:
            await mailer.close()


@dataclass
class _Outcomes:
    """What happened to each e-mail of a batch, recorded together at the end."""

    sent: list[Notification] = field(default_factory=list)
    failed: list[tuple[Notification, str]] = field(default_factory=list)
    retry: list[tuple[Notification, str]] = field(default_factory=list)

    def failure(self, n: Notification, exc: BaseException) -> None:
        if isinstance(exc, PermanentFailure):
            self.failed.append((n, str(exc)))
        elif isinstance(exc, DirectoryUnavailable):
            self.retry.append((n, str(exc)))
        elif isinstance(exc, SMTPException | OSError):
            kind = smtp.classify(exc)
            (self.failed if kind == "permanent" else self.retry).append((n, smtp.describe(exc)))
        else:
            # A template or data bug: count it as an attempt so the e-mail ends `failed` (visible to ops)
            # instead of coming back after every lease; the rest of the batch goes on.
            log.error(
                "notification could not be prepared",
                exc_info=exc,
                extra={"notification_id": str(n.id)},
            )
            self.retry.append((n, f"could not prepare the message: {type(exc).__name__}"))


async def _rendering(settings: Settings, directory: Directory, n: Notification) -> dict[str, Any]:
    recipient = await directory.contact(n.recipient_kind, n.recipient_id)
    if not recipient.email:
        raise PermanentFailure("no e-mail address on file")
    client = None
    if n.recipient_kind == "provider" and "client_id" in n.context:
        client = await directory.contact("client", uuid.UUID(n.context["client_id"]))
    rendered = render(
        n.template,
        n.context,
        recipient=recipient,
        client=client,
        link_map=links(frontend_url=settings.frontend_url, support_url=settings.support_url),
    )
    return {
        "id": n.id,
        "to_address": recipient.email,
        "subject": rendered.subject,
        "body_text": rendered.text,
        "body_html": rendered.html,
    }


async def _attachment(directory: Directory, n: Notification) -> tuple[str, bytes] | None:
    if n.attachment != "invoice_pdf":
        return None
    pdf = await directory.invoice_pdf(n.context["session"]["id"])
    return (f"invoice-{str(n.context['invoice_id'])[:8]}.pdf", pdf)


def _raise_cancelled(results: list[Any]) -> None:
    for r in results:
        if isinstance(r, asyncio.CancelledError):
            raise r


async def deliver(
    runtime: Runtime, batch: list[Notification], mailer: Mailer, sent: Callable[[], None] | None = None
) -> None:
    """Render (once), send and record a batch of leased e-mails; `sent` is called once the mailer is done with
    them (before they are recorded). Database errors propagate: the leases then expire and the e-mails are
    tried again, exactly like after a crash."""
    settings = _settings(runtime)
    directory: Directory = runtime.extras["directory"]
    outcomes = _Outcomes()

    # Render what has not been rendered yet, fetching the recipients' contacts concurrently (the clients' in
    # one lookup), and store every rendering before anything is sent.
    unrendered = [n for n in batch if n.to_address is None]
    directory.prefetch_clients(
        client_id
        for n in unrendered
        if (client_id := client_shown(n.recipient_kind, n.recipient_id, n.context)) is not None
    )
    renderings = await asyncio.gather(
        *(_rendering(settings, directory, n) for n in unrendered), return_exceptions=True
    )
    _raise_cancelled(renderings)
    stored = []
    for n, r in zip(unrendered, renderings, strict=True):
        if isinstance(r, BaseException):
            outcomes.failure(n, r)
        else:
            stored.append(r)
            n.to_address, n.subject, n.body_text, n.body_html = (
                r["to_address"],
                r["subject"],
                r["body_text"],
                r["body_html"],
            )
    if stored:
        async with runtime.db.statements() as session:  # each row's rendering stands on its own
            await repository.save_renderings(session, stored)

    ready = [n for n in batch if n.to_address is not None]
    attachments = await asyncio.gather(*(_attachment(directory, n) for n in ready), return_exceptions=True)
    _raise_cancelled(attachments)
    sending: list[Notification] = []
    messages: list[tuple[str, bytes]] = []
    sent_at = runtime.clock.now()
    for n, attachment in zip(ready, attachments, strict=True):
        try:
            if isinstance(attachment, BaseException):
                raise attachment
            assert n.to_address is not None
            assert n.subject is not None
            assert n.body_text is not None
            assert n.body_html is not None
            data = message_bytes(
                mail_from=settings.mail_from,
                to_address=n.to_address,
                subject=n.subject,
                text=n.body_text,
                html=n.body_html,
                message_id=n.message_id,
                notification_id=str(n.id),
                sent_at=sent_at,
                attachment=attachment,
            )
        except Exception as exc:
            outcomes.failure(n, exc)
            continue
        sending.append(n)
        messages.append((n.to_address, data))

    results = await mailer.send_all(messages)
    if sent is not None:
        sent()
    for n, error in zip(sending, results, strict=True):
        if error is None:
            outcomes.sent.append(n)
        else:
            outcomes.failure(n, error)
    await _record(runtime, outcomes)


async def _record(runtime: Runtime, outcomes: _Outcomes) -> None:
    """Record every outcome of a batch, and publish the status changes, in one transaction."""
    settings = _settings(runtime)
    now = runtime.clock.now()
    changed: list[tuple[Notification, Status, str | None]] = []
    retried: list[tuple[Notification, str]] = []
    failed = list(outcomes.failed)
    async with runtime.db.session() as session:
        sent = await repository.mark_sent(session, notification_ids=[n.id for n in outcomes.sent], now=now)
        changed += [(n, "sent", None) for n in outcomes.sent if n.id in sent]
        for n, error in outcomes.retry:
            if gives_up(attempts=n.attempts, max_attempts=settings.sender_max_attempts):
                failed.append((n, f"gave up after {n.attempts} attempts: {error}"))
                continue
            when = retry_at(
                now=now,
                attempts=n.attempts,
                base_s=settings.sender_backoff_s,
                max_s=settings.sender_backoff_max_s,
            )
            await repository.mark_retry(session, notification_id=n.id, next_attempt_at=when, error=error)
            retried.append((n, error))
        for n, error in failed:
            if await repository.mark_failed(session, notification_id=n.id, now=now, error=error):
                changed.append((n, "failed", error))
        if changed:
            await runtime.outbox.publish(
                session,
                *(
                    NotificationStatusChanged(
                        notification_id=n.id,
                        recipient_id=n.recipient_id,
                        template=n.template,
                        status=status,
                        changed_at=now,
                    )
                    for n, status, _ in changed
                ),
            )
    for n, status, reason in changed:
        EMAILS.labels(status).inc()
        log.info(
            "notification " + status,
            extra={
                "notification_id": str(n.id),
                "template": n.template,
                "attempts": n.attempts,
                "error": _loggable(reason),
            },
        )
    for n, error in retried:
        EMAILS.labels("retried").inc()
        log.warning(
            "notification will be retried",
            extra={
                "notification_id": str(n.id),
                "template": n.template,
                "attempts": n.attempts,
                "error": _loggable(error),
            },
        )


def _loggable(error: str | None) -> str | None:
    """Only the first word (an SMTP code or an exception name): relays' texts may quote the address."""
    return error.split(" ", 1)[0] if error else None
