"""Story (seeds 000 and 004): a client's plan comes back flagged secondary. The coverage goes inactive, the
client is paused and not cleared for scheduling, partners see it on the topics, the client is told who to
call and what to say, and none of the client's details reach the logs."""

from __future__ import annotations

import uuid

from kit.testing.helpers import eventually
from tests.e2e.conftest import System


async def test_secondary_flag_pauses_client_publishes_events_and_emails_instructions(system: System) -> None:
    email = f"dana.{uuid.uuid4().hex[:8]}@example.com"
    surname = f"Quill{uuid.uuid4().hex[:6]}"
    async with await system.as_("ops") as ops:
        created = await ops.post(
            "/v1/clients",
            json={
                "first_name": "Dana",
                "last_name": surname,
                "date_of_birth": "1990-04-12",
                "email": email,
                "home_state": "NY",
            },
        )
        assert created.status_code == 201, created.text
        client_id = created.json()["id"]
    client_token = await system.token("client", client_id=client_id)
    async with system.client(client_token) as me:
        coverage = await me.post(
            f"/v1/clients/{client_id}/coverages", json={"payer_id": "aetna", "member_id": "SECOND0001"}
        )
        assert coverage.status_code == 201, coverage.text
        coverage_id = coverage.json()["id"]
        verified = await me.post(f"/v1/coverages/{coverage_id}/verify")
        assert verified.status_code == 200, verified.text
        after = (await me.get(f"/v1/coverages/{coverage_id}")).json()
        client = (await me.get(f"/v1/clients/{client_id}")).json()
        someone_else = await me.get(f"/v1/clients/{uuid.uuid4()}")

    assert after["status"] == "inactive"
    assert after["status_reason"] == "secondary_flag"
    assert client["cleared_for_scheduling"] is False
    assert client["account_status"] == "paused"
    assert someone_else.status_code == 404

    flagged = await system.topics.wait_for(
        "coverage.flagged_secondary", lambda e: e.data["coverage_id"] == coverage_id
    )
    assert flagged[0].subject == client_id  # keyed by client id
    await system.topics.wait_for("cob.case_opened", lambda e: e.data["client_id"] == client_id)
    status_events = await system.topics.wait_for(
        "client.status_changed",
        lambda e: e.data["client_id"] == client_id and e.data["account_status"] == "paused",
    )
    assert status_events[0].data["cleared_for_scheduling"] is False

    mails = await eventually(lambda: _mails_to(system, email), timeout=30, what="the paused-account e-mail")
    body = mails[0].message.get_body(("plain",))
    assert body is not None
    text = " ".join(body.get_content().split())
    assert "number is on the back of your insurance ID card" in text
    assert "which of my plans is primary" in text

    logs = system.logs()
    for secret in (email, surname, "1990-04-12", "SECOND0001", client_token):
        assert secret not in logs, f"{secret!r} leaked into the logs"


async def _mails_to(system: System, address: str) -> list:  # type: ignore[type-arg]
    return system.mailbox.to(address)
