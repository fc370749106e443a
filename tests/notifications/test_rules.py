"""Pure rules, tested without a database: what each event plans, where the relay is, which SMTP failures
are retried, the backoff, and that subjects carry no personal or clinical detail."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import get_args

import aiosmtplib
import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.events import CobCaseOpened, CostChanged, CostChangeReason
from notifications.delivery import plan
from notifications.delivery.directory import Contact
from notifications.delivery.policy import gives_up, retry_at
from notifications.delivery.rendering import links, render, session_label
from notifications.delivery.smtp import SmtpTarget, classify, parse_smtp_url

NOW = datetime(2026, 3, 2, 15, tzinfo=UTC)


def test_smtp_url_carries_credentials_and_starttls() -> None:
    assert parse_smtp_url("smtp://mailer:s%40cret@relay.example.com:587?starttls=true") == SmtpTarget(
        host="relay.example.com", port=587, username="mailer", password="s@cret", start_tls=True
    )


def test_smtps_url_means_implicit_tls_on_465() -> None:
    target = parse_smtp_url("smtps://relay.example.com")
    assert (target.port, target.use_tls, target.start_tls) == (465, True, False)


def test_plain_smtp_url_upgrades_only_when_offered() -> None:
    assert parse_smtp_url("smtp://127.0.0.1:2525") == SmtpTarget(host="127.0.0.1", port=2525)


@pytest.mark.parametrize(
    "url", ["http://relay:25", "smtp://", "smtp://relay:25?starttls=maybe", "smtps://relay?starttls=true"]
)
def test_malformed_smtp_url_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match=r"\w"):
        parse_smtp_url(url)


def test_5xx_is_permanent_and_4xx_connection_and_auth_failures_are_transient() -> None:
    refused = aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(550, "no such user", "a@b")])
    busy = aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(451, "busy", "a@b")])
    assert classify(refused) == "permanent"
    assert classify(aiosmtplib.SMTPDataError(554, "rejected")) == "permanent"
    assert classify(busy) == "transient"
    assert classify(aiosmtplib.SMTPDataError(421, "closing")) == "transient"
    assert classify(aiosmtplib.SMTPConnectError("refused")) == "transient"
    assert classify(ConnectionRefusedError()) == "transient"
    assert classify(aiosmtplib.SMTPAuthenticationError(535, "bad credentials")) == "transient"


def test_backoff_doubles_and_is_capped() -> None:
    delays = [retry_at(now=NOW, attempts=n, base_s=5, max_s=60) - NOW for n in range(1, 7)]
    assert delays == [timedelta(seconds=s) for s in (5, 10, 20, 40, 60, 60)]
    assert not gives_up(attempts=7, max_attempts=8)
    assert gives_up(attempts=8, max_attempts=8)


def test_same_event_recipient_and_template_always_get_the_same_notification_id() -> None:
    event_id, recipient = uuid.uuid4(), uuid.uuid4()
    nid = plan.notification_id(event_id, recipient, "client_balance_due")
    assert nid == plan.notification_id(event_id, recipient, "client_balance_due")
    assert nid != plan.notification_id(event_id, recipient, "client_refund_issued")
    assert nid != plan.notification_id(uuid.uuid4(), recipient, "client_balance_due")


def _cost(old: str | None, new: str, reason: CostChangeReason) -> CostChanged:
    return CostChanged(
        session_id=uuid.uuid4(),
        client_id=uuid.uuid4(),
        provider_id=uuid.uuid4(),
        version=2,
        old_amount=Decimal(old) if old is not None else None,
        new_amount=Decimal(new),
        reason=reason,
        changed_at=NOW,
    )


def test_cost_change_goes_to_client_and_provider_but_an_unchanged_amount_does_not() -> None:
    changed = plan.cost_changed(_cost("100.00", "20.00", "corrected_benefits"), dates={})
    assert [(i.template, i.recipient_kind) for i in changed] == [
        ("client_cost_changed", "client"),
        ("provider_cost_changed", "provider"),
    ]
    assert changed[0].context["old_amount"] == "100.00"
    assert changed[0].context["new_amount"] == "20.00"
    assert plan.cost_changed(_cost("20.00", "20.00", "corrected_benefits"), dates={}) == []
    assert plan.cost_changed(_cost(None, "20.00", "first_price"), dates={}) == []


def test_every_cost_change_reason_has_words_for_a_person() -> None:
    reasons = set(get_args(CostChangeReason)) - {"first_price"}
    assert reasons <= set(plan.COST_REASONS)


def test_only_the_recertification_reminder_is_optional() -> None:
    assert set(plan.OPTIONAL_TEMPLATES) == {"client_recertification_due"}


def test_cob_case_opened_goes_to_the_client_and_every_provider_who_sees_them() -> None:
    providers = [uuid.uuid4(), uuid.uuid4()]
    event = CobCaseOpened(
        case_id=uuid.uuid4(),
        client_id=uuid.uuid4(),
        coverage_id=uuid.uuid4(),
        payer_id="cigna",
        trigger="claim_denied",
        opened_at=NOW,
    )
    intents = plan.cob_opened(event, providers=providers, other_payer_name=None)
    assert [(i.template, i.recipient_id) for i in intents] == [
        ("client_cob_paused", event.client_id),
        ("provider_cob_paused", providers[0]),
        ("provider_cob_paused", providers[1]),
    ]
    assert intents[0].context["insurer"] == {"name": "Cigna", "phone": "1-800-244-6224"}


TEMPLATE_CONTEXTS = {
    "client_cob_paused": {"insurer": {"name": None, "phone": None}, "other_payer_name": None},
    "provider_cob_paused": {"client_id": "x"},
    "client_cob_resolved": {"outcome": "secondary_confirmed", "affected_claims": 0},
    "provider_cob_resolved": {"client_id": "x", "outcome": "primary_confirmed", "affected_claims": 1},
    "client_recertification_due": {"due_date": "2026-04-01"},
    "client_cost_changed": {
        "session": {"id": "s", "date": None},
        "old_amount": "1.00",
        "new_amount": "2.00",
        "reason_text": "r",
    },
    "provider_cost_changed": {
        "session": {"id": "s", "date": "2026-01-02"},
        "old_amount": "1.00",
        "new_amount": "2.00",
        "reason_text": "r",
    },
    "client_balance_due": {"amount": "3.00", "sessions": [{"id": "s", "date": None}]},
    "client_refund_issued": {
        "session": {"id": "s", "date": None},
        "amount": "3.00",
        "expected_by": "2026-03-09",
    },
    "client_invoice_issued": {"session": {"id": "s", "date": None}},
    "provider_notes_requested": {
        "session": {"id": "s", "date": None},
        "deadline": "2026-03-05",
        "business_days": 3,
    },
}


@given(first=st.text(alphabet="ßøåæþðŋ", min_size=2, max_size=12))  # never part of a template's own words
def test_subjects_never_carry_the_recipients_or_the_clients_name(first: str) -> None:
    person = Contact(email="x@example.test", greeting_name=first, display_name=f"{first} Q.")
    for template, context in TEMPLATE_CONTEXTS.items():
        rendered = render(
            template,
            context,
            recipient=person,
            client=person,
            link_map=links(frontend_url="https://app", support_url="https://app/support"),
        )
        assert first not in rendered.subject
        assert first in rendered.text  # the body greets the person
        assert "F32" not in rendered.subject


def test_html_part_escapes_what_it_shows() -> None:
    person = Contact(email="x@example.test", greeting_name="<b>Jo</b>", display_name="<b>Jo</b> Q.")
    rendered = render(
        "provider_cob_paused",
        TEMPLATE_CONTEXTS["provider_cob_paused"],
        recipient=person,
        client=person,
        link_map=links(frontend_url="https://app", support_url="https://app/support"),
    )
    assert "<b>Jo</b>" not in rendered.html
    assert "&lt;b&gt;Jo&lt;/b&gt;" in rendered.html


def test_a_session_is_named_by_its_date_or_else_by_its_reference() -> None:
    session_id = uuid.uuid4()
    assert session_label({"id": str(session_id), "date": "2026-02-03"}) == "on February 3, 2026"
    assert session_label({"id": str(session_id), "date": None}) == f"(reference {str(session_id)[:8]})"
