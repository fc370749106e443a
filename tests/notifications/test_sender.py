"""The sender's plumbing: it is woken by the transaction that queues an e-mail or an ops retry (not by its poll
interval), a batch travels over a few long-lived SMTP connections (one refused recipient does not cost the
connection), a connection the relay dropped is opened again, and the message bytes carry what the templates
rendered."""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import select

from contracts.cloudevents import Envelope as EventEnvelope
from contracts.events import CobRecertificationDue
from devstack.mail import Mailbox
from kit.testing.helpers import OPS, eventually, running_app
from kit.testing.plugin import SettingsFactory
from notifications.config import Settings
from notifications.delivery.mime import message_bytes
from notifications.delivery.sender import Mailer, drain
from notifications.delivery.worker import Sender
from notifications.main import create_app
from notifications.models import Notification
from tests.notifications.conftest import START, Harness, Smtp, StandIns, notifications_settings, text_of


def _reminder(client_id: uuid.UUID) -> CobRecertificationDue:
    return CobRecertificationDue(coverage_id=uuid.uuid4(), client_id=client_id, due_date=START.date())


class CountingMailbox(Mailbox):
    """Remembers which client connection (its address and port) carried each accepted message."""

    peers: list[tuple[str, int]]

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.peers.append(session.peer)
        return await super().handle_DATA(server, session, envelope)


def _counting(smtp: Smtp) -> CountingMailbox:
    smtp.stop()
    mailbox = CountingMailbox()
    mailbox.peers = []
    smtp.mailbox = mailbox
    smtp.start()
    return mailbox


async def test_a_queued_email_wakes_the_sender_without_waiting_for_its_interval(
    make_settings: SettingsFactory, smtp: Smtp, stand_ins: StandIns
) -> None:
    settings = notifications_settings(
        make_settings, smtp, stand_ins, run_scheduler=True, sender_interval_s=120.0
    )
    app = create_app(settings)
    async with running_app(app):
        runtime = app.state.runtime
        sender: Sender = runtime.extras["sender"]
        await asyncio.wait_for(sender.listening.wait(), 10)
        await asyncio.sleep(0.2)  # the sender's first pass (nothing due) is over; it now waits 120 s
        client_id, address = stand_ins.client()
        await runtime.consumers[0].process(EventEnvelope.wrap(_reminder(client_id), source="test"))

        async def arrived() -> bool:
            return bool(smtp.to(address))

        await eventually(arrived, timeout=10, what="the e-mail, long before the 120 s poll")


async def test_an_ops_retry_wakes_the_sender_too(
    make_settings: SettingsFactory, smtp: Smtp, stand_ins: StandIns
) -> None:
    settings = notifications_settings(
        make_settings, smtp, stand_ins, run_scheduler=True, sender_interval_s=120.0
    )
    app = create_app(settings)
    client_id, address = stand_ins.client()
    smtp.mailbox.reject.add(address)
    async with running_app(app) as http:
        runtime = app.state.runtime
        await asyncio.wait_for(runtime.extras["sender"].listening.wait(), 10)
        await runtime.consumers[0].process(EventEnvelope.wrap(_reminder(client_id), source="test"))

        async def failed() -> list[Any]:
            return [n for n in await _rows(runtime) if n.status == "failed"]

        [row] = await eventually(failed, timeout=10, what="the 550 recorded")
        smtp.mailbox.reject.clear()
        assert (await http.post(f"/v1/notifications/{row.id}/retry", headers=OPS)).status_code == 200

        async def arrived() -> bool:
            return bool(smtp.to(address))

        await eventually(arrived, timeout=10, what="the retried e-mail, long before the 120 s poll")


async def _rows(runtime: Any) -> list[Notification]:
    async with runtime.db.session() as session:
        return list(await session.scalars(select(Notification)))


async def _queue_reminders(notif: Harness, n: int) -> list[str]:
    """n reminders to n new clients, queued; returns their addresses in order."""
    addresses = []
    for _ in range(n):
        client_id, address = notif.stand_ins.client()
        addresses.append(address)
        await notif.deliver(_reminder(client_id))
    return addresses


def _mailer(notif: Harness, *, sender_concurrency: int) -> Mailer:
    settings = notif.runtime.settings
    assert isinstance(settings, Settings)
    return Mailer(settings.model_copy(update={"sender_concurrency": sender_concurrency}))


async def test_one_smtp_connection_carries_a_whole_batch_and_survives_a_refused_recipient(
    notif: Harness,
) -> None:
    mailbox = _counting(notif.smtp)
    refused_id, refused = notif.stand_ins.client()
    mailbox.reject.add(refused)
    addresses = await _queue_reminders(notif, 2)
    await notif.deliver(_reminder(refused_id))
    addresses += await _queue_reminders(notif, 4)

    await drain(notif.runtime, _mailer(notif, sender_concurrency=1))

    assert all(len(notif.smtp.to(a)) == 1 for a in addresses)
    assert len(mailbox.peers) == 6
    assert len(set(mailbox.peers)) == 1  # one connection for the batch, the 550 included
    statuses = {r.recipient_id: r.status for r in await notif.notifications()}
    assert statuses[refused_id] == "failed"


async def test_the_batch_is_spread_over_at_most_sender_concurrency_connections(notif: Harness) -> None:
    mailbox = _counting(notif.smtp)
    addresses = await _queue_reminders(notif, 8)
    await drain(notif.runtime, _mailer(notif, sender_concurrency=3))
    assert all(len(notif.smtp.to(a)) == 1 for a in addresses)
    assert 1 <= len(set(mailbox.peers)) <= 3


async def test_a_connection_the_relay_dropped_is_opened_again_without_a_retry_delay(notif: Harness) -> None:
    settings = notif.runtime.settings
    assert isinstance(settings, Settings)
    mailer = Mailer(settings)
    first_id, first = notif.stand_ins.client()
    await notif.deliver(_reminder(first_id))
    await drain(notif.runtime, mailer)
    assert len(notif.smtp.to(first)) == 1

    notif.smtp.stop()  # the relay goes away and comes back: the mailer's open connections are dead
    notif.smtp.start()
    second_id, second = notif.stand_ins.client()
    await notif.deliver(_reminder(second_id))
    await drain(notif.runtime, mailer)
    await mailer.close()

    assert len(notif.smtp.to(second)) == 1
    row = next(r for r in await notif.notifications() if r.recipient_id == second_id)
    assert (row.status, row.attempts) == ("sent", 1)


def test_message_bytes_parse_back_to_what_was_rendered() -> None:
    nid = str(uuid.uuid4())
    text = "Hi Zoë,\n\n" + "a long line of words " * 10 + "\n.a line that starts with a dot\n= and tabs\t\n"
    html = "<p>Hi Zoë — " + "x" * 300 + "</p>\n"
    pdf = b"%PDF-1.4\n" + bytes(range(256)) * 4
    for subject in ("Your invoice is ready", "Déjà vu: " + "ünïcode " * 20):
        raw = message_bytes(
            mail_from="Parity <no-reply@parity.local>",
            to_address="client@example.test",
            subject=subject,
            text=text,
            html=html,
            message_id=f"<{nid}@parity.local>",
            notification_id=nid,
            sent_at=datetime(2026, 3, 2, 15, 0, tzinfo=UTC),
            attachment=("invoice-12345678.pdf", pdf),
        )
        assert max(len(line) for line in raw.split(b"\r\n")) <= 998
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, email.message.EmailMessage)
        assert all(not part.defects for part in message.walk())
        assert message["Subject"] == " ".join(subject.split())
        assert message["Message-ID"] == f"<{nid}@parity.local>"
        assert message["X-Parity-Notification-Id"] == nid
        assert text_of(message) == " ".join(text.split())
        html_part = message.get_body(("html",))
        assert html_part is not None
        assert str(html_part.get_content()).replace("\r\n", "\n") == html
        [attachment] = list(message.iter_attachments())
        assert attachment.get_filename() == "invoice-12345678.pdf"
        assert attachment.get_content() == pdf


class HoldingMailbox(Mailbox):
    """Holds the DATA of `held` addresses until `release` is set (a relay that is slow for one message)."""

    held: set[str]
    holding: threading.Event
    release: threading.Event

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.held & {a.lower() for a in envelope.rcpt_tos}:
            self.holding.set()
            while not self.release.is_set():
                await asyncio.sleep(0.01)
        return await super().handle_DATA(server, session, envelope)


async def test_an_email_queued_while_a_batch_is_being_sent_goes_out_without_waiting_for_that_batch(
    make_settings: SettingsFactory, smtp: Smtp, stand_ins: StandIns
) -> None:
    smtp.stop()
    mailbox = HoldingMailbox()
    mailbox.held, mailbox.holding, mailbox.release = set(), threading.Event(), threading.Event()
    smtp.mailbox = mailbox
    smtp.start()
    settings = notifications_settings(make_settings, smtp, stand_ins, run_scheduler=True, sender_passes=2)
    app = create_app(settings)
    try:
        async with running_app(app):
            runtime = app.state.runtime
            await asyncio.wait_for(runtime.extras["sender"].listening.wait(), 10)
            slow_id, slow = stand_ins.client()
            mailbox.held.add(slow)
            await runtime.consumers[0].process(EventEnvelope.wrap(_reminder(slow_id), source="test"))
            assert await asyncio.to_thread(mailbox.holding.wait, 10), "the relay never got the first e-mail"

            fast_id, fast = stand_ins.client()
            await runtime.consumers[0].process(EventEnvelope.wrap(_reminder(fast_id), source="test"))

            async def fast_arrived() -> bool:
                return bool(smtp.to(fast))

            # Well within the SMTP timeout (5 s), which would otherwise end the held batch and free the sender.
            await eventually(fast_arrived, timeout=3, what="the second e-mail while the first is held")
            assert smtp.to(slow) == []
            mailbox.release.set()

            async def both_sent() -> bool:
                return {r.status for r in await _rows(runtime)} == {"sent"}

            await eventually(both_sent, timeout=10, what="both recorded as sent")
            assert [r.attempts for r in await _rows(runtime)] == [1, 1]
    finally:
        mailbox.release.set()
    assert len(smtp.to(slow)) == 1
    assert len(smtp.to(fast)) == 1
