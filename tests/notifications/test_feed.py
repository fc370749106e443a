"""The in-app feed, one notification's body, and preferences: people see only their own, ops see all,
bad input is a problem+json that changes nothing, and opting out of reminders never stops required mail."""

from __future__ import annotations

import uuid
from decimal import Decimal

from contracts.events import BalanceDue, CobRecertificationDue
from kit.testing.helpers import OPS, as_role
from tests.notifications.conftest import START, Harness


async def _reminder_and_balance(notif: Harness, client_id: uuid.UUID) -> None:
    await notif.deliver(
        CobRecertificationDue(coverage_id=uuid.uuid4(), client_id=client_id, due_date=START.date())
    )
    await notif.deliver(
        BalanceDue(client_id=client_id, amount=Decimal("12.00"), session_ids=[], due_at=START)
    )


async def test_client_feed_lists_own_notifications_with_status(notif: Harness) -> None:
    client_id, _ = notif.stand_ins.client()
    other_id, _ = notif.stand_ins.client()
    await _reminder_and_balance(notif, client_id)
    await _reminder_and_balance(notif, other_id)
    await notif.send()

    me = as_role("client", client_id=client_id)
    feed = (await notif.client.get("/v1/notifications", headers=me)).json()
    assert {f["recipient_id"] for f in feed} == {str(client_id)}
    assert sorted(f["template"] for f in feed) == ["client_balance_due", "client_recertification_due"]
    assert {f["status"] for f in feed} == {"sent"}
    assert all(f["subject"] for f in feed)

    same = await notif.client.get("/v1/notifications", params={"recipient_id": str(client_id)}, headers=me)
    assert same.json() == feed


async def test_client_asking_for_another_recipients_feed_gets_404(notif: Harness) -> None:
    client_id, _ = notif.stand_ins.client()
    other_id, _ = notif.stand_ins.client()
    await _reminder_and_balance(notif, other_id)
    response = await notif.client.get(
        "/v1/notifications",
        params={"recipient_id": str(other_id)},
        headers=as_role("client", client_id=client_id),
    )
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_one_notification_shows_its_rendered_body_to_its_recipient_only(notif: Harness) -> None:
    client_id, _ = notif.stand_ins.client(first="Rosa")
    await _reminder_and_balance(notif, client_id)
    await notif.send()
    me = as_role("client", client_id=client_id)
    [balance] = [
        f
        for f in (await notif.client.get("/v1/notifications", headers=me)).json()
        if f["template"] == "client_balance_due"
    ]
    detail = (await notif.client.get(f"/v1/notifications/{balance['id']}", headers=me)).json()
    assert "Hi Rosa" in detail["body_text"]
    assert "$12.00" in detail["body_text"]
    assert "Pay now" in detail["body_html"]

    stranger = as_role("client", client_id=uuid.uuid4())
    assert (await notif.client.get(f"/v1/notifications/{balance['id']}", headers=stranger)).status_code == 404
    provider = as_role("provider", provider_id=client_id)  # same id, different kind of recipient
    assert (await notif.client.get(f"/v1/notifications/{balance['id']}", headers=provider)).status_code == 404
    assert (await notif.client.get(f"/v1/notifications/{balance['id']}", headers=OPS)).status_code == 200


async def test_bad_input_is_a_problem_not_a_500(notif: Harness) -> None:
    me = as_role("client", client_id=uuid.uuid4())
    for path, params in [
        ("/v1/notifications/not-a-uuid", {}),
        ("/v1/notifications", {"status": "delivered-ish"}),
        ("/v1/notifications", {"limit": "0"}),
        ("/v1/notifications", {"recipient_id": "nope"}),
    ]:
        response = await notif.client.get(path, params=params, headers=me)
        assert response.status_code == 422, path
        assert response.headers["content-type"] == "application/problem+json"
    assert (await notif.client.get("/v1/notifications")).status_code == 401


async def test_only_ops_may_retry_a_notification(notif: Harness) -> None:
    client_id, _ = notif.stand_ins.client()
    await _reminder_and_balance(notif, client_id)
    [row, _] = await notif.notifications()
    response = await notif.client.post(
        f"/v1/notifications/{row.id}/retry", headers=as_role("client", client_id=client_id)
    )
    assert response.status_code == 403


async def test_reminder_opt_out_suppresses_reminders_but_required_mail_still_goes(notif: Harness) -> None:
    client_id, address = notif.stand_ins.client()
    me = as_role("client", client_id=client_id)
    path = f"/v1/clients/{client_id}/notification-preferences"
    assert (await notif.client.get(path, headers=me)).json()["reminders"] is True
    updated = await notif.client.put(path, json={"reminders": False}, headers=me)
    assert updated.status_code == 200
    assert updated.json()["optional_templates"] == {"reminders": ["client_recertification_due"]}

    await _reminder_and_balance(notif, client_id)
    await notif.send()
    [message] = notif.smtp.to(address)
    assert message["Subject"] == "You have an outstanding balance"
    statuses = {r.template: r.status for r in await notif.notifications()}
    assert statuses == {"client_recertification_due": "suppressed", "client_balance_due": "sent"}


async def test_preferences_belong_to_the_client(notif: Harness) -> None:
    client_id = uuid.uuid4()
    path = f"/v1/clients/{client_id}/notification-preferences"
    body = {"reminders": False}
    assert (
        await notif.client.get(path, headers=as_role("client", client_id=uuid.uuid4()))
    ).status_code == 404
    assert (
        await notif.client.put(path, json=body, headers=as_role("provider", provider_id=uuid.uuid4()))
    ).status_code == 404
    assert (await notif.client.put(path, json=body, headers=as_role("partner"))).status_code == 403
    bad = await notif.client.put(
        path, json={"reminders": "sometimes"}, headers=as_role("client", client_id=client_id)
    )
    assert bad.status_code == 422
    assert (await notif.client.get(path, headers=OPS)).json()["reminders"] is True  # nothing changed
    assert (await notif.client.put(path, json=body, headers=OPS)).json()["reminders"] is False
