"""Invoices (with and without claims' provider details), estimates, Good Faith Estimates, fee schedules."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date
from uuid import uuid4

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from contracts.events import BenefitsChanged
from kit.testing.helpers import as_role
from tests.pricing.conftest import NOW, Harness, _free_port, benefits, confirmed

NPI = "1234567893"


@pytest.fixture(scope="module")
def claims_stand_in() -> Iterator[str]:
    """A tiny stand-in for claims' internal session API (the real shape), served over HTTP."""
    app = FastAPI()

    @app.get("/internal/sessions/{session_id}")
    async def session(session_id: str) -> dict[str, object]:
        return {
            "id": session_id,
            "client_id": str(uuid4()),
            "provider_id": "00000000-0000-0000-0000-000000000001",
            "provider_name": "Dr. Ada Example",
            "provider_npi": NPI,
            "date_of_service": "2026-02-03",
            "cpt_code": "90837",
            "icd10_codes": ["F41.1"],
            "place_of_service": "10",
            "status": "confirmed",
        }

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(url + "/internal/sessions/x")
            break
        except httpx.HTTPError:
            threading.Event().wait(0.02)
    yield url
    server.should_exit = True
    thread.join(timeout=5)


async def test_invoice_carries_provider_npi_and_diagnosis_codes_from_claims(
    pricing: Harness, claims_stand_in: str
) -> None:
    pricing.runtime.settings.claims_url = claims_stand_in
    client = uuid4()
    s = confirmed(client, day=date(2026, 2, 3), route="self_pay")
    await pricing.deliver(s)
    r = await pricing.client.get(
        f"/v1/sessions/{s.session_id}/invoice", headers=as_role("client", client_id=client)
    )
    assert r.status_code == 200, r.text
    inv = r.json()
    assert (inv["provider"]["npi"], inv["icd10_codes"], inv["provider_details_missing"]) == (
        NPI,
        ["F41.1"],
        False,
    )
    assert (inv["client_amount"], inv["amount_paid"], inv["balance"]) == ("175.00", "0.00", "175.00")
    pdf = await pricing.client.get(
        f"/v1/sessions/{s.session_id}/invoice?format=pdf", headers=as_role("client", client_id=client)
    )
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    [issued] = await pricing.published("invoice.issued")
    assert issued["session_id"] == str(s.session_id)


async def test_invoice_without_claims_says_provider_details_are_missing(pricing: Harness) -> None:
    pricing.runtime.settings.claims_url = f"http://127.0.0.1:{_free_port()}"
    client = uuid4()
    s = confirmed(client, day=date(2026, 2, 3), route="self_pay")
    await pricing.deliver(s)
    inv = (await pricing.client.get(f"/v1/sessions/{s.session_id}/invoice", headers=as_role("ops"))).json()
    assert (inv["provider"], inv["provider_details_missing"], inv["icd10_codes"]) == (None, True, [])
    pdf = await pricing.client.get(
        f"/internal/sessions/{s.session_id}/invoice.pdf", headers=as_role("service")
    )
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")


async def test_another_client_cannot_read_a_session_cost_or_invoice(pricing: Harness) -> None:
    s = confirmed(uuid4(), day=date(2026, 2, 3), route="self_pay")
    await pricing.deliver(s)
    stranger = as_role("client", client_id=uuid4())
    assert (
        await pricing.client.get(f"/v1/sessions/{s.session_id}/cost", headers=stranger)
    ).status_code == 404
    assert (
        await pricing.client.get(f"/v1/sessions/{s.session_id}/invoice", headers=stranger)
    ).status_code == 404
    own_provider = as_role("provider", provider_id=s.provider_id)
    assert (
        await pricing.client.get(f"/v1/sessions/{s.session_id}/cost", headers=own_provider)
    ).status_code == 200
    assert (
        await pricing.client.get(f"/internal/sessions/{s.session_id}/invoice.pdf", headers=stranger)
    ).status_code == 403


async def test_estimate_prices_the_next_sessions_after_the_ones_already_booked(pricing: Harness) -> None:
    client, coverage = uuid4(), uuid4()
    await pricing.deliver(
        BenefitsChanged(
            coverage_id=coverage,
            client_id=client,
            payer_id="aetna",
            snapshot_id=uuid4(),
            reason="first_verification",
            old=None,
            new=benefits(deductible="200.00", copay="20.00"),
            changed_at=NOW,
        )
    )
    await pricing.deliver(confirmed(client, day=date(2026, 2, 3), coverage_id=coverage))
    r = await pricing.client.post(
        "/v1/estimates",
        json={
            "client_id": str(client),
            "cpt_code": "90837",
            "session_count": 3,
            "date_of_service": "2026-03-02",
        },
        headers=as_role("client", client_id=client),
    )
    assert r.status_code == 200, r.text
    assert [s["amount"] for s in r.json()["sessions"]] == ["70.00", "20.00", "20.00"]
    assert r.json()["total"] == "110.00"


async def test_good_faith_estimate_for_a_self_pay_course_as_json_and_pdf(pricing: Harness) -> None:
    client = uuid4()
    headers = as_role("client", client_id=client)
    body = {"client_id": str(client), "cpt_code": "90834", "session_count": 12, "first_date": "2026-03-09"}
    r = await pricing.client.post("/v1/good-faith-estimates", json=body, headers=headers)
    assert r.status_code == 201, r.text
    assert (r.json()["unit_rate"], r.json()["total"]) == ("130.00", "1560.00")
    pdf = await pricing.client.get(
        f"/v1/good-faith-estimates/{r.json()['estimate_id']}",
        headers={**headers, "Accept": "application/pdf"},
    )
    assert pdf.content.startswith(b"%PDF")
    other = await pricing.client.get(
        f"/v1/good-faith-estimates/{r.json()['estimate_id']}", headers=as_role("client", client_id=uuid4())
    )
    assert other.status_code == 404


@pytest.mark.parametrize("cpt", ["9083", "abcde", "99999"])
async def test_estimate_for_an_unknown_or_malformed_code_is_refused(pricing: Harness, cpt: str) -> None:
    body = {"client_id": str(uuid4()), "cpt_code": cpt, "session_count": 1, "first_date": "2026-03-09"}
    r = await pricing.client.post("/v1/good-faith-estimates", json=body, headers=as_role("ops"))
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"


async def test_fee_schedule_change_reprices_every_session_it_prices(pricing: Harness) -> None:
    clients = [uuid4() for _ in range(3)]
    sessions = [confirmed(c, day=date(2026, 2, 3), route="self_pay", cpt="90832") for c in clients]
    for s in sessions:
        await pricing.deliver(s)
    body = {"payer_id": "self_pay", "cpt_code": "90832", "allowed_amount": "95.00", "provider_rate": "80.00"}
    assert (
        await pricing.client.put(
            "/v1/fee-schedules", json=body, headers=as_role("client", client_id=clients[0])
        )
    ).status_code == 403
    r = await pricing.client.put("/v1/fee-schedules", json=body, headers=as_role("ops"))
    assert r.json()["costs_changed"] == 3
    changes = [e for e in await pricing.published("cost.changed") if e["reason"] == "fee_schedule_changed"]
    assert sorted(e["session_id"] for e in changes) == sorted(str(s.session_id) for s in sessions)
    assert {e["new_amount"] for e in changes} == {"95.00"}
