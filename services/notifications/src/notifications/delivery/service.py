"""Recording which e-mails an event causes: one row per (event, recipient, template), before any sending."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from notifications.delivery import repository
from notifications.delivery.plan import Intent, notification_id
from notifications.delivery.rendering import message_id_for
from notifications.metrics import EMAILS
from notifications.preferences import repository as preferences

log = logging.getLogger("notifications.intents")


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
    rows = []
    for intent in intents:
        status = "pending"
        category = intent.optional_category
        if category and not await preferences.wants(
            session, client_id=intent.recipient_id, category=category
        ):
            status = "suppressed"
        nid = notification_id(event_id, intent.recipient_id, intent.template)
        rows.append(
            {
                "id": nid,
                "event_id": event_id,
                "event_type": event_type,
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
        log.info(
            "notification queued",
            extra={"notification_id": str(row["id"]), "template": row["template"], "status": row["status"]},
        )
    return len(new)
