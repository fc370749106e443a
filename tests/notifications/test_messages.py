"""Each event produces the message the articles describe, delivered to a real SMTP server: the recipient,
the subject (no diagnosis, no name) and the facts in the body."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal

from contracts.cloudevents import Envelope
from contracts.events import (
    BalanceDue,
    CareRelationshipStarted,
    CobCaseOpened,
    CobCaseResolved,
    CobRecertificationDue,
    CostChanged,
    CoverageFlaggedSecondary,
    InvoiceIssued,
    NotesRequested,
    RefundIssued,
    SessionConfirmed,
)
from tests.notifications.conftest import START, Harness, html_of, text_of

COB_SENTENCE = (
    "My provider let me know there's an issue with my coordination of benefits—could you let me know "
    "which of my plans is primary?"
)


async def _sees(notif: Harness, provider_id: uuid.UUID, client_id: uuid.UUID) -> None:
    await notif.deliver(
        CareRelationshipStarted(provider_id=provider_id, client_id=client_id, started_at=START)
    )


async def _session(notif: Harness, client_id: uuid.UUID, provider_id: uuid.UUID, day: date) -> uuid.UUID:
    session_id = uuid.uuid4()
    await notif.deliver(
        SessionConfirmed(
            session_id=session_id,
            client_id=client_id,
            provider_id=provider_id,
            coverage_id=None,
            payer_id="aetna",
            date_of_service=day,
            cpt_code="90837",
            billing_route="standard",
            confirmed_at=START,
        )
    )
    return session_id


def _case_opened(client_id: uuid.UUID, coverage_id: uuid.UUID | None = None) -> CobCaseOpened:
    return CobCaseOpened(
        case_id=uuid.uuid4(),
        client_id=client_id,
        coverage_id=coverage_id or uuid.uuid4(),
        payer_id="aetna",
        trigger="secondary_flag",
        opened_at=START,
    )


async def test_cob_case_opened_tells_client_who_to_call_what_to_say_and_how_to_tell_us(
    notif: Harness,
) -> None:
    client_id, address = notif.stand_ins.client(first="Jane", last="Doe")
    await notif.deliver(_case_opened(client_id))
    await notif.send()

    [message] = notif.smtp.to(address)
    body = text_of(message)
    assert message["Subject"] == "Action needed: your account is paused"
    assert "Jane" not in message["Subject"]
    assert "Hi Jane" in body
    assert "paused" in body
    assert "back of your insurance ID card" in body
    assert "Aetna member services: 1-800-872-3862" in body
    assert COB_SENTENCE in body
    assert "tell us: https://app.parity.test/support" in body
    assert COB_SENTENCE in html_of(message)


async def test_cob_case_opened_tells_each_provider_who_sees_the_client_no_action_is_required(
    notif: Harness,
) -> None:
    client_id, client_address = notif.stand_ins.client(first="Jane", last="Doe")
    provider_id, provider_address = notif.stand_ins.provider(name="Dr. Ana Ortiz")
    _, unrelated_address = notif.stand_ins.provider()
    await _sees(notif, provider_id, client_id)
    await notif.deliver(_case_opened(client_id))
    await notif.send()

    [message] = notif.smtp.to(provider_address)
    body = text_of(message)
    assert message["Subject"] == "A client's account is paused"
    assert "Hi Dr. Ana Ortiz" in body
    assert "Jane D." in body
    assert "Doe" not in body
    assert "No action is required from you" in body
    assert COB_SENTENCE not in body
    assert notif.smtp.to(unrelated_address) == []
    assert len(notif.smtp.to(client_address)) == 1


async def test_secondary_flag_and_its_cob_case_send_the_client_one_paused_email(notif: Harness) -> None:
    client_id, address = notif.stand_ins.client()
    coverage_id = uuid.uuid4()
    await notif.deliver(
        CoverageFlaggedSecondary(
            coverage_id=coverage_id,
            client_id=client_id,
            payer_id="aetna",
            other_payer_name="UnitedHealthcare",
            flagged_at=START,
        )
    )
    await notif.send()
    assert notif.smtp.to(address) == []  # the flag alone sends nothing: its COB case does

    await notif.deliver(_case_opened(client_id, coverage_id))
    await notif.send()
    [message] = notif.smtp.to(address)
    assert "another plan (UnitedHealthcare) may be your primary insurance" in text_of(message)


def _flag(client_id: uuid.UUID, coverage_id: uuid.UUID, other: str, at: datetime = START) -> Envelope:
    return Envelope.wrap(
        CoverageFlaggedSecondary(
            coverage_id=coverage_id,
            client_id=client_id,
            payer_id="aetna",
            other_payer_name=other,
            flagged_at=at,
        ),
        source="test",
    )


async def test_a_cob_case_fetched_ahead_of_its_flag_still_names_the_other_plan(notif: Harness) -> None:
    # Eligibility stages the flag, then the case, in one transaction; the broker answers the case's partition
    # first.
    client_id, address = notif.stand_ins.client()
    coverage_id = uuid.uuid4()
    flag = _flag(client_id, coverage_id, "UnitedHealthcare")
    case = Envelope.wrap(_case_opened(client_id, coverage_id), source="test")
    await notif.deliver_fetched([case], [flag])
    await notif.send()
    [message] = notif.smtp.to(address)
    assert "another plan (UnitedHealthcare) may be your primary insurance" in text_of(message)


async def test_cases_and_flags_fetched_together_send_what_they_would_one_by_one(notif: Harness) -> None:
    seen_client, seen_address = notif.stand_ins.client()
    lone_client, lone_address = notif.stand_ins.client()
    provider_id, provider_address = notif.stand_ins.provider()
    await _sees(notif, provider_id, seen_client)
    coverage_id = uuid.uuid4()
    # Two flags of one coverage in one partition: the later flag counts, whatever the order they come in.
    later = _flag(seen_client, coverage_id, "Cigna", START + timedelta(hours=1))
    earlier = _flag(seen_client, coverage_id, "UnitedHealthcare", START)
    seen_case = Envelope.wrap(_case_opened(seen_client, coverage_id), source="test")
    lone_case = Envelope.wrap(_case_opened(lone_client), source="test")
    await notif.deliver_fetched([later, earlier], [seen_case, lone_case, seen_case])  # and a redelivery
    await notif.send()
    [to_seen] = notif.smtp.to(seen_address)
    assert "another plan (Cigna) may be your primary insurance" in text_of(to_seen)
    [to_lone] = notif.smtp.to(lone_address)
    assert "another plan (" not in text_of(to_lone)
    assert len(notif.smtp.to(provider_address)) == 1  # the provider who sees the client, once
    assert len(await notif.notifications()) == 3


async def test_cob_resolved_primary_unpauses_client_and_provider(notif: Harness) -> None:
    client_id, address = notif.stand_ins.client()
    provider_id, provider_address = notif.stand_ins.provider()
    await _sees(notif, provider_id, client_id)
    await notif.deliver(
        CobCaseResolved(
            case_id=uuid.uuid4(),
            client_id=client_id,
            coverage_id=uuid.uuid4(),
            outcome="primary_confirmed",
            affected_claim_ids=[uuid.uuid4(), uuid.uuid4()],
            resolved_at=START,
        )
    )
    await notif.send()
    [message] = notif.smtp.to(address)
    body = text_of(message)
    assert message["Subject"] == "Your account is active again"
    assert "unpaused" in body
    assert "resubmitting the 2 affected claim(s)" in body
    [to_provider] = notif.smtp.to(provider_address)
    assert "unpaused" in text_of(to_provider)


async def test_cob_resolved_secondary_marks_client_ineligible_and_explains_future_sessions(
    notif: Harness,
) -> None:
    client_id, address = notif.stand_ins.client()
    provider_id, provider_address = notif.stand_ins.provider()
    await _sees(notif, provider_id, client_id)
    await notif.deliver(
        CobCaseResolved(
            case_id=uuid.uuid4(),
            client_id=client_id,
            coverage_id=uuid.uuid4(),
            outcome="secondary_confirmed",
            resolved_at=START,
        )
    )
    await notif.send()
    body = text_of(notif.smtp.to(address)[0])
    assert "ineligible for insurance billing" in body
    assert "new payment plan" in body
    assert "https://app.parity.test/account/insurance" in body
    assert "ineligible for insurance billing" in text_of(notif.smtp.to(provider_address)[0])


async def test_recertification_reminder_tells_client_the_due_date(notif: Harness) -> None:
    client_id, address = notif.stand_ins.client()
    await notif.deliver(
        CobRecertificationDue(coverage_id=uuid.uuid4(), client_id=client_id, due_date=date(2026, 4, 1))
    )
    await notif.send()
    [message] = notif.smtp.to(address)
    assert message["Subject"] == "Reminder: re-certify your coordination of benefits"
    body = text_of(message)
    assert "due by April 1, 2026" in body
    assert "back of your insurance ID card" in body


async def test_cost_change_tells_client_and_provider_which_session_old_and_new_cost_and_why(
    notif: Harness,
) -> None:
    client_id, address = notif.stand_ins.client(first="Jane", last="Doe")
    provider_id, provider_address = notif.stand_ins.provider()
    session_id = await _session(notif, client_id, provider_id, date(2026, 2, 17))
    await notif.deliver(
        CostChanged(
            session_id=session_id,
            client_id=client_id,
            provider_id=provider_id,
            version=2,
            old_amount=Decimal("120.00"),
            new_amount=Decimal("35.50"),
            reason="deductible_met",
            changed_at=START,
        )
    )
    await notif.send()
    [message] = notif.smtp.to(address)
    body = text_of(message)
    assert message["Subject"] == "The cost of one of your sessions changed"
    assert "session on February 17, 2026 changed from $120.00 to $35.50" in body
    assert "Why: the deductible for the year has been met." in body
    [to_provider] = notif.smtp.to(provider_address)
    assert "Jane D." in text_of(to_provider)
    assert "from $120.00 to $35.50" in text_of(to_provider)


async def test_first_price_is_not_a_cost_change_and_sends_nothing(notif: Harness) -> None:
    client_id, address = notif.stand_ins.client()
    provider_id, provider_address = notif.stand_ins.provider()
    await notif.deliver(
        CostChanged(
            session_id=uuid.uuid4(),
            client_id=client_id,
            provider_id=provider_id,
            version=1,
            old_amount=None,
            new_amount=Decimal("40.00"),
            reason="first_price",
            changed_at=START,
        )
    )
    await notif.send()
    assert notif.smtp.to(address) == []
    assert notif.smtp.to(provider_address) == []
    assert await notif.notifications() == []


async def test_balance_due_gives_amount_sessions_and_pay_now_link_to_past_appointments(
    notif: Harness,
) -> None:
    client_id, address = notif.stand_ins.client()
    provider_id, _ = notif.stand_ins.provider()
    first = await _session(notif, client_id, provider_id, date(2026, 1, 6))
    second = await _session(notif, client_id, provider_id, date(2026, 1, 13))
    await notif.deliver(
        BalanceDue(client_id=client_id, amount=Decimal("84.50"), session_ids=[first, second], due_at=START)
    )
    await notif.send()
    [message] = notif.smtp.to(address)
    body = text_of(message)
    assert "outstanding balance of $84.50 for 2 past session(s)" in body
    assert "January 6, 2026" in body
    assert "January 13, 2026" in body
    assert "Pay now: https://app.parity.test/appointments/past" in body
    assert '<a href="https://app.parity.test/appointments/past"' in html_of(message)
    assert ">Pay now</a>" in html_of(message)


async def test_refund_says_session_amount_and_3_to_5_business_days(notif: Harness) -> None:
    client_id, address = notif.stand_ins.client()
    provider_id, _ = notif.stand_ins.provider()
    session_id = await _session(notif, client_id, provider_id, date(2026, 2, 3))
    await notif.deliver(
        RefundIssued(
            refund_id=uuid.uuid4(),
            client_id=client_id,
            session_id=session_id,
            payment_id=uuid.uuid4(),
            amount=Decimal("25.00"),
            issued_at=START,
            expected_by=date(2026, 3, 9),
        )
    )
    await notif.send()
    [message] = notif.smtp.to(address)
    body = text_of(message)
    assert message["Subject"] == "Your refund has been processed"
    assert "refunded $25.00 for your session on February 3, 2026" in body
    assert "within 3-5 business days (by March 9, 2026)" in body


async def test_invoice_email_carries_the_invoice_pdf_from_pricing(notif: Harness) -> None:
    client_id, address = notif.stand_ins.client()
    session_id = uuid.uuid4()
    pdf = b"%PDF-1.4\n% stand-in invoice\n%%EOF\n"
    notif.stand_ins.invoices[str(session_id)] = pdf
    invoice_id = uuid.uuid4()
    await notif.deliver(
        InvoiceIssued(invoice_id=invoice_id, session_id=session_id, client_id=client_id, issued_at=START)
    )
    await notif.send()
    [message] = notif.smtp.to(address)
    assert message["Subject"] == "Your invoice is ready"
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == f"invoice-{str(invoice_id)[:8]}.pdf"
    assert attachment.get_content() == pdf
    assert "invoice for your session" in text_of(message)


async def test_notes_request_tells_provider_the_session_and_three_business_day_deadline(
    notif: Harness,
) -> None:
    client_id, _ = notif.stand_ins.client()
    provider_id, provider_address = notif.stand_ins.provider()
    session_id = await _session(notif, client_id, provider_id, date(2026, 2, 24))
    await notif.deliver(
        NotesRequested(
            request_id=uuid.uuid4(),
            claim_id=uuid.uuid4(),
            session_id=session_id,
            provider_id=provider_id,
            deadline=date(2026, 3, 5),
            requested_at=START,
        )
    )
    await notif.send()
    [message] = notif.smtp.to(provider_address)
    body = text_of(message)
    assert message["Subject"] == "Session notes requested: due March 5, 2026"
    assert "session on February 24, 2026" in body
    assert "by March 5, 2026 (3 business days)" in body
    assert f"https://app.parity.test/sessions/{session_id}/notes" in body


async def test_messages_are_sent_from_the_configured_sender_with_both_parts(notif: Harness) -> None:
    client_id, address = notif.stand_ins.client()
    await notif.deliver(
        CobRecertificationDue(
            coverage_id=uuid.uuid4(), client_id=client_id, due_date=START.date() + timedelta(30)
        )
    )
    await notif.send()
    [message] = notif.smtp.to(address)
    assert message["From"] == "Parity <no-reply@parity.local>"
    assert message["Message-ID"].endswith("@parity.local>")
    assert message.get_body(("plain",)) is not None
    assert message.get_body(("html",)) is not None
    assert isinstance(message["Date"].datetime, datetime)
