"""Recording which e-mails an event causes: one row per (event, recipient, template), before any sending."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from kit.logging import correlation_id
from notifications.delivery import repository
from notifications.delivery.plan import Intent, notification_id
from notifications.delivery.rendering import message_id_for
from notifications.metrics import EMAILS
from notifications.preferences import repository as preferences

log = logging.getLogger("notifications.intents")


@dataclass(frozen=True)
class Caused:
    """The intents one event causes."""

    event_id: uuid.UUID
    event_type: str
    intents: list[Intent]
    correlation_id: str | None = None  # of the event, for the log lines of its e-mails


async def record_intents(
    session: AsyncSession,
    *,
    event_id: uuid.UUID,
    event_type: str,
    intents: list[Intent],
    now: datetime,
    mail_from: str,
) -> int:
    """Queue each intent once (a redelivered event adds nothing); optional ones a client turned off are
    kept as `suppressed` so the feed shows them but nothing is sent. Returns how many were new."""
    return await record_caused(session, [Caused(event_id, event_type, intents)], now=now, mail_from=mail_from)


async def record_caused(session: AsyncSession, caused: list[Caused], *, now: datetime, mail_from: str) -> int:
    """`record_intents` for the intents of several events, in one statement."""
    rows = []
    correlation: dict[uuid.UUID, str | None] = {}
    for c in caused:
        for intent in c.intents:
            status = "pending"
            category = intent.optional_category
            if category and not await preferences.wants(
                session, client_id=intent.recipient_id, category=category
            ):
                status = "suppressed"
            nid = notification_id(c.event_id, intent.recipient_id, intent.template)
            correlation[nid] = c.correlation_id
            rows.append(
                {
                    "id": nid,
                    "event_id": c.event_id,
                    "event_type": c.event_type,
                    "template": intent.template,
                    "recipient_kind": intent.recipient_kind,
                    "recipient_id": intent.recipient_id,
                    "context": intent.context,
                    "status": status,
                    "message_id": message_id_for(nid, mail_from),
                    "attachment": intent.attachment,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
            )
    # One statement for all of them; a pending row wakes the sender when this transaction commits (trigger).
    new = await repository.add_intents(session, rows)
    for row in rows:
        if row["id"] not in new:
            continue
        if row["status"] == "suppressed":
            EMAILS.labels("suppressed").inc()
        extra = {"notification_id": str(row["id"]), "template": row["template"], "status": row["status"]}
        given = correlation[row["id"]]
        if given is None:  # the current one (a single event's handler runs under its own)
            log.info("notification queued", extra=extra)
            continue
        token = correlation_id.set(given)
        try:
            log.info("notification queued", extra=extra)
        finally:
            correlation_id.reset(token)
    return len(new)
