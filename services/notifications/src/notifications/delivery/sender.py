"""The sender: drains due e-mails off the consumers' path, so a slow or absent relay never holds up events.

Exactly once per (event, recipient, template), as far as SMTP allows: the row (with a fixed Message-ID) is
committed before sending; a sender leases it, renders it once (the rendering is stored, so a re-send is the
same message), sends, then records `sent`. If the process dies after the relay accepted the message but
before `sent` is recorded, the lease runs out and the message is sent again with the same Message-ID.
That window (milliseconds) is the residual risk: SMTP has no idempotency key, so the person may receive a
duplicate, which most mailbox providers collapse because the Message-ID is the same.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

from aiosmtplib import SMTPException

from contracts.events import NotificationStatusChanged
from kit.runtime import Runtime
from notifications.config import Settings
from notifications.delivery import repository, smtp
from notifications.delivery.directory import Directory, DirectoryUnavailable
from notifications.delivery.policy import gives_up, retry_at
from notifications.delivery.rendering import build_message, links, render
from notifications.metrics import EMAILS
from notifications.models import Notification

log = logging.getLogger("notifications.sender")


class PermanentFailure(Exception):
    """This e-mail can never go out as it is (no address on file, a 5xx from the relay)."""


def _settings(runtime: Runtime) -> Settings:
    settings = runtime.settings
    assert isinstance(settings, Settings)
    return settings


async def drain(runtime: Runtime) -> int:
    """Send every e-mail that is due now; returns how many were attempted."""
    settings = _settings(runtime)
    handled = 0
    while True:
        now = runtime.clock.now()
        async with runtime.db.session() as session:
            batch = await repository.claim_due(
                session,
                now=now,
                lease_until=now + timedelta(seconds=settings.sender_lease_s),
                limit=settings.sender_batch_size,
            )
        if not batch:
            return handled
        for notification in batch:
            await deliver(runtime, notification)
        handled += len(batch)


async def _render(runtime: Runtime, n: Notification, directory: Directory) -> Notification:
    settings = _settings(runtime)
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
    async with runtime.db.session() as session:
        await repository.save_rendering(
            session,
            notification_id=n.id,
            to_address=recipient.email,
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
        )
    n.to_address, n.subject, n.body_text, n.body_html = (
        recipient.email,
        rendered.subject,
        rendered.text,
        rendered.html,
    )
    return n


async def deliver(runtime: Runtime, n: Notification) -> None:
    """Render (once), send and record one leased e-mail. Database errors propagate: the lease then expires
    and the e-mail is tried again, exactly like after a crash."""
    settings = _settings(runtime)
    directory: Directory = runtime.extras["directory"]
    attachment: tuple[str, bytes] | None = None
    try:
        if n.to_address is None:
            n = await _render(runtime, n, directory)
        if n.attachment == "invoice_pdf":
            pdf = await directory.invoice_pdf(n.context["session"]["id"])
            attachment = (f"invoice-{str(n.context['invoice_id'])[:8]}.pdf", pdf)
        assert n.to_address is not None
        assert n.subject is not None
        assert n.body_text is not None
        assert n.body_html is not None
        message = build_message(
            mail_from=settings.mail_from,
            to_address=n.to_address,
            subject=n.subject,
            text=n.body_text,
            html=n.body_html,
            message_id=n.message_id,
            notification_id=str(n.id),
            sent_at=runtime.clock.now(),
            attachment=attachment,
        )
        await smtp.send(
            smtp.parse_smtp_url(settings.smtp_url),
            message,
            timeout=settings.smtp_timeout_s,
            service=settings.service_name,
        )
    except PermanentFailure as exc:
        await _fail(runtime, n, str(exc))
        return
    except DirectoryUnavailable as exc:
        await _retry_or_fail(runtime, n, str(exc))
        return
    except (SMTPException, OSError) as exc:
        if smtp.classify(exc) == "permanent":
            await _fail(runtime, n, smtp.describe(exc))
        else:
            await _retry_or_fail(runtime, n, smtp.describe(exc))
        return
    except Exception as exc:
        # A template or data bug: count it as an attempt so the e-mail ends `failed` (visible to ops) instead
        # of coming back after every lease; the rest of the batch goes on.
        log.exception("notification could not be prepared", extra={"notification_id": str(n.id)})
        await _retry_or_fail(runtime, n, f"could not prepare the message: {type(exc).__name__}")
        return
    await _record(runtime, n, "sent")


async def _record(runtime: Runtime, n: Notification, status: Any, error: str | None = None) -> None:
    now = runtime.clock.now()
    async with runtime.db.session() as session:
        if status == "sent":
            changed = await repository.mark_sent(session, notification_id=n.id, now=now)
        else:
            changed = await repository.mark_failed(
                session, notification_id=n.id, now=now, error=error or "failed"
            )
        if changed:
            await runtime.outbox.publish(
                session,
                NotificationStatusChanged(
                    notification_id=n.id,
                    recipient_id=n.recipient_id,
                    template=n.template,
                    status=status,
                    changed_at=now,
                ),
            )
    if changed:
        EMAILS.labels(status).inc()
        log.info(
            "notification " + status,
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


async def _fail(runtime: Runtime, n: Notification, error: str) -> None:
    await _record(runtime, n, "failed", error)


async def _retry_or_fail(runtime: Runtime, n: Notification, error: str) -> None:
    settings = _settings(runtime)
    if gives_up(attempts=n.attempts, max_attempts=settings.sender_max_attempts):
        await _fail(runtime, n, f"gave up after {n.attempts} attempts: {error}")
        return
    when = retry_at(
        now=runtime.clock.now(),
        attempts=n.attempts,
        base_s=settings.sender_backoff_s,
        max_s=settings.sender_backoff_max_s,
    )
    async with runtime.db.session() as session:
        await repository.mark_retry(session, notification_id=n.id, next_attempt_at=when, error=error)
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
