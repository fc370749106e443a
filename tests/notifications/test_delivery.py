"""Delivery: each (event, recipient, template) goes out once, even when the event is redelivered or the
process dies between the relay accepting the message and our record of it; transient SMTP failures are
retried with backoff; a permanent failure is recorded, visible and does not hold up other e-mails."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import select, update

from contracts.events import CobRecertificationDue, RefundIssued
from devstack.mail import Mailbox
from kit.testing.helpers import OPS
from notifications.delivery import repository
from notifications.models import Notification, messaging
from tests.notifications.conftest import START, Harness

BACKOFF = timedelta(seconds=5)  # the default first retry delay (sender_backoff_s)


def _reminder(client_id: uuid.UUID) -> CobRecertificationDue:
    return CobRecertificationDue(coverage_id=uuid.uuid4(), client_id=client_id, due_date=START.date())


async def _status_events(notif: Harness) -> list[dict[str, Any]]:
    t = messaging.outbox
    async with notif.runtime.db.session() as session:
        rows = await session.execute(select(t.c.payload).where(t.c.topic == "notification.status_changed"))
        return [r.payload for r in rows]


async def test_redelivered_event_sends_each_email_once(notif: Harness) -> None:
    client_id, address = notif.stand_ins.client()
    envelope = await notif.deliver(_reminder(client_id))
    await notif.send()
    await notif.deliver(envelope)  # the broker hands it to us again
    await notif.send()
    assert len(notif.smtp.to(address)) == 1
    [row] = await notif.notifications()
    assert row.status == "sent"
    assert [e["status"] for e in await _status_events(notif)] == ["sent"]


async def test_crash_between_smtp_accept_and_record_resends_once_with_the_same_message_id(
    notif: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    client_id, address = notif.stand_ins.client()
    await notif.deliver(_reminder(client_id))

    async def die(*args: Any, **kwargs: Any) -> bool:
        raise SystemError("process killed after the relay accepted the message")

    with monkeypatch.context() as patch:
        patch.setattr(repository, "mark_sent", die)
        with pytest.raises(SystemError):
            await notif.send()
    [accepted] = notif.smtp.to(address)
    [row] = await notif.notifications()
    assert row.status == "pending"

    await notif.send()  # another sender while the lease is alive does not send it again
    assert len(notif.smtp.to(address)) == 1

    notif.clock.advance(timedelta(seconds=notif.runtime.settings.sender_lease_s + 1))
    await notif.send()
    first, second = notif.smtp.to(address)
    assert second["Message-ID"] == first["Message-ID"] == accepted["Message-ID"] == row.message_id
    assert second["Subject"] == first["Subject"]
    assert second.get_body(("plain",)).get_content() == first.get_body(("plain",)).get_content()  # type: ignore[union-attr]

    await notif.send()
    assert len(notif.smtp.to(address)) == 2
    [row] = await notif.notifications()
    assert row.status == "sent"
    assert [e["status"] for e in await _status_events(notif)] == ["sent"]


async def test_smtp_down_then_up_retries_after_backoff(notif: Harness) -> None:
    client_id, address = notif.stand_ins.client()
    notif.smtp.stop()
    await notif.deliver(_reminder(client_id))
    await notif.send()
    [row] = await notif.notifications()
    assert row.status == "pending"
    assert row.attempts == 1
    assert row.next_attempt_at == START + BACKOFF
    assert row.last_error is not None

    notif.smtp.start()
    await notif.send()  # not due yet: the backoff holds
    assert notif.smtp.to(address) == []
    notif.clock.advance(BACKOFF)
    await notif.send()
    assert len(notif.smtp.to(address)) == 1
    [row] = await notif.notifications()
    assert row.status == "sent"
    assert row.attempts == 2


class BusyMailbox(Mailbox):
    """Answers 451 (try again later) for the addresses in `busy`."""

    busy: set[str]

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address.lower() in self.busy:
            return "451 4.3.0 mailbox busy, try again later"
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)


async def test_4xx_reply_is_retried_and_a_later_attempt_delivers(notif: Harness) -> None:
    client_id, address = notif.stand_ins.client()
    notif.smtp.stop()
    busy = BusyMailbox()
    busy.busy = {address}
    notif.smtp.mailbox = busy
    notif.smtp.start()
    await notif.deliver(_reminder(client_id))
    await notif.send()
    [row] = await notif.notifications()
    assert row.status == "pending"
    assert row.last_error is not None
    assert row.last_error.startswith("451")

    busy.busy.clear()
    notif.clock.advance(BACKOFF)
    await notif.send()
    assert len(notif.smtp.to(address)) == 1


async def test_permanently_bad_address_is_failed_visible_to_ops_and_does_not_block_others(
    notif: Harness,
) -> None:
    bad_id, bad_address = notif.stand_ins.client()
    good_id, good_address = notif.stand_ins.client()
    notif.smtp.mailbox.reject.add(bad_address)
    await notif.deliver(_reminder(bad_id))
    await notif.deliver(_reminder(good_id))
    await notif.send()

    assert len(notif.smtp.to(good_address)) == 1
    rows = {r.recipient_id: r for r in await notif.notifications()}
    assert rows[bad_id].status == "failed"
    assert rows[bad_id].last_error is not None
    assert rows[bad_id].last_error.startswith("550")
    assert rows[good_id].status == "sent"

    notif.clock.advance(timedelta(days=1))
    await notif.send()  # a permanent failure is not retried
    assert notif.smtp.to(bad_address) == []

    failed = (await notif.client.get("/v1/notifications", params={"status": "failed"}, headers=OPS)).json()
    assert [f["recipient_id"] for f in failed] == [str(bad_id)]
    statuses = sorted((e["recipient_id"], e["status"]) for e in await _status_events(notif))
    assert statuses == sorted([(str(bad_id), "failed"), (str(good_id), "sent")])


async def test_ops_retry_of_a_failed_email_sends_it_after_the_address_is_fixed(notif: Harness) -> None:
    client_id, address = notif.stand_ins.client()
    notif.smtp.mailbox.reject.add(address)
    await notif.deliver(_reminder(client_id))
    await notif.send()
    [row] = await notif.notifications()
    assert row.status == "failed"

    notif.smtp.mailbox.reject.clear()
    retried = await notif.client.post(f"/v1/notifications/{row.id}/retry", headers=OPS)
    assert retried.status_code == 200
    assert retried.json()["status"] == "pending"
    await notif.send()
    [message] = notif.smtp.to(address)
    assert message["Message-ID"] == row.message_id
    again = await notif.client.post(f"/v1/notifications/{row.id}/retry", headers=OPS)
    assert again.status_code == 409


async def test_recipient_unknown_to_its_owning_service_is_retried_until_it_is_known(notif: Harness) -> None:
    client_id = uuid.uuid4()  # eligibility does not know this client yet
    await notif.deliver(_reminder(client_id))
    await notif.send()
    [row] = await notif.notifications()
    assert row.status == "pending"
    assert row.last_error == "HTTP 404 from " + notif.stand_ins.url

    address = f"late-{client_id.hex[:8]}@example.test"
    notif.stand_ins.clients[str(client_id)] = {"id": str(client_id), "first_name": "Sam", "email": address}
    notif.clock.advance(BACKOFF)
    await notif.send()
    assert len(notif.smtp.to(address)) == 1


async def test_recipient_without_an_email_address_fails_permanently(notif: Harness) -> None:
    client_id, _ = notif.stand_ins.client()
    notif.stand_ins.clients[str(client_id)]["email"] = None
    await notif.deliver(_reminder(client_id))
    await notif.send()
    [row] = await notif.notifications()
    assert row.status == "failed"
    assert row.last_error == "no e-mail address on file"


async def test_contacts_are_fetched_once_and_cached(notif: Harness) -> None:
    client_id, address = notif.stand_ins.client()
    for _ in range(2):
        await notif.deliver(
            RefundIssued(
                refund_id=uuid.uuid4(),
                client_id=client_id,
                session_id=uuid.uuid4(),
                payment_id=uuid.uuid4(),
                amount=Decimal("10.00"),
                issued_at=START,
                expected_by=START.date(),
            )
        )
    await notif.send()
    assert len(notif.smtp.to(address)) == 2
    assert notif.stand_ins.calls.count(f"client:{client_id}") == 1


async def test_an_email_that_cannot_be_rendered_does_not_hold_up_the_others(notif: Harness) -> None:
    broken_id, broken_address = notif.stand_ins.client()
    good_id, good_address = notif.stand_ins.client()
    await notif.deliver(_reminder(broken_id))
    await notif.deliver(_reminder(good_id))
    async with notif.runtime.db.session() as session:  # a row whose facts no longer fit its template
        await session.execute(
            update(Notification).where(Notification.recipient_id == broken_id).values(context={})
        )
    await notif.send()
    assert len(notif.smtp.to(good_address)) == 1
    assert notif.smtp.to(broken_address) == []
    rows = {r.recipient_id: r for r in await notif.notifications()}
    assert rows[broken_id].status == "pending"
    assert rows[broken_id].last_error == "could not prepare the message: UndefinedError"
