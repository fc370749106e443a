"""Through the broker, like production: an event on its topic is consumed, the sender (a periodic job, off
the consumer's path) delivers the e-mail to a real SMTP server, and notification.status_changed is published
through the outbox."""

from __future__ import annotations

import uuid
from decimal import Decimal

from aiokafka import AIOKafkaProducer

from contracts.cloudevents import Envelope
from contracts.events import RefundIssued
from kit.testing.helpers import TopicReader, eventually, running_app
from kit.testing.plugin import SettingsFactory
from notifications.main import create_app
from tests.notifications.conftest import START, Smtp, StandIns, notifications_settings, text_of


async def test_refund_event_on_the_broker_becomes_an_email_and_a_sent_status_event(
    make_settings: SettingsFactory, smtp: Smtp, stand_ins: StandIns, topics: TopicReader
) -> None:
    settings = notifications_settings(
        make_settings,
        smtp,
        stand_ins,
        run_consumers=True,
        run_relay=True,
        run_scheduler=True,
        sender_interval_s=0.1,
    )
    client_id, address = stand_ins.client()
    event = RefundIssued(
        refund_id=uuid.uuid4(),
        client_id=client_id,
        session_id=uuid.uuid4(),
        payment_id=uuid.uuid4(),
        amount=Decimal("42.00"),
        issued_at=START,
        expected_by=START.date(),
    )
    envelope = Envelope.wrap(event, source="pricing")
    async with running_app(create_app(settings)):
        producer = AIOKafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap_servers, enable_idempotence=False
        )
        await producer.start()
        try:
            for _ in range(2):  # delivered twice: still one e-mail
                await producer.send_and_wait(
                    settings.topic(RefundIssued.topic),
                    key=envelope.subject.encode(),
                    value=envelope.body(),
                    headers=envelope.headers(),
                )
        finally:
            await producer.stop()

        async def arrived() -> bool:
            return bool(smtp.to(address))

        await eventually(arrived, what="the refund e-mail")
        [status] = await topics.wait_for(
            "notification.status_changed", lambda e: e.data["recipient_id"] == str(client_id)
        )
    assert status.data["status"] == "sent"
    assert status.data["template"] == "client_refund_issued"
    assert "@" not in str(status.data)  # no address in the event
    [message] = smtp.to(address)
    assert "refunded $42.00" in text_of(message)
