"""The sandbox clearinghouse's claims side: 837P acknowledgements, adjudication into a real 835, push and poll."""

from __future__ import annotations

import asyncio
import socket
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI, Request
from x12sdk.io import X12ModelReader

from claims.x12_837 import ClaimFacts, Line, Person, build_837p
from sandbox.clearinghouse.app import create_app

JANE = Person("DOE", "JANE", date(1990, 1, 2), "1 MAIN ST", "ALBANY", "NY", "12207")


def _837(control: str = "C0000000000000000001") -> str:
    return build_837p(
        ClaimFacts(
            control_number=control,
            submitter_name="PARITY",
            submitter_id="PARITY",
            billing_provider_name="SMITH",
            billing_provider_npi="1234567893",
            billing_provider_tax_id="990000001",
            billing_address=("2 OFFICE RD", "ALBANY", "NY", "12207"),
            payer_name="AETNA",
            payer_x12_id="60054",
            subscriber=JANE,
            member_id="M1",
            group_number=None,
            relationship="self",
            patient=JANE,
            date_of_service=date(2026, 3, 2),
            place_of_service="11",
            diagnoses=("F329",),
            lines=(Line("90837", Decimal("180.00")), Line("90785", Decimal("25.00"))),
        )
    )


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://clearinghouse")


def _claim_payments(text: str) -> list[Any]:
    with X12ModelReader(text) as reader:
        return [c for m in reader.models() for c in m.claims()]  # type: ignore[attr-defined]


async def test_837p_is_acknowledged_per_claim_and_garbage_is_rejected() -> None:
    async with _client(create_app()) as ch:
        r = await ch.post("/x12/837", content=_837())
        assert r.json() == {
            "ack": "accepted",
            "claims": [
                {
                    "claim_control_number": "C0000000000000000001",
                    "status": "accepted",
                    "charge": "205.00",
                    "errors": [],
                }
            ],
        }
        bad = await ch.post("/x12/837", content=b"hello")
        assert bad.status_code == 400
        assert bad.json()["ack"] == "rejected"


async def test_paid_adjudication_produces_a_balanced_835_with_the_patient_share() -> None:
    async with _client(create_app()) as ch:
        await ch.post("/x12/837", content=_837())
        r = await ch.post(
            "/admin/claims/C0000000000000000001/adjudicate",
            json={"outcome": "paid", "allowed_amount": "150.00", "patient_responsibility": "30.00"},
        )
        [paid] = _claim_payments(r.json()["x12"])
        assert paid.patient_control_number == "C0000000000000000001"
        assert (paid.status, paid.charge, paid.paid) == ("1", Decimal("205.00"), Decimal("120.00"))
        codes = [
            (c.adjustment_group_code, c.adjustment_reason_code_1, c.monetary_amount_1)
            for c in paid.service_lines[0].cas_segment
        ]
        assert [(str(getattr(g, "value", g)), r_, a) for g, r_, a in codes] == [
            ("CO", "45", Decimal("55.00")),
            ("PR", "2", Decimal("30.00")),
        ]


async def test_denial_carries_the_carc_and_status_4() -> None:
    async with _client(create_app()) as ch:
        await ch.post("/x12/837", content=_837())
        r = await ch.post(
            "/admin/claims/C0000000000000000001/adjudicate",
            json={"outcome": "denied", "carc_codes": ["22"], "group_code": "OA"},
        )
        [denied] = _claim_payments(r.json()["x12"])
        assert (denied.status, denied.paid) == ("4", Decimal("0.00"))
        assert {c.adjustment_reason_code_1 for line in denied.service_lines for c in line.cas_segment} == {
            "22"
        }


async def test_835_is_pushed_to_the_webhook_and_served_for_polling() -> None:
    received: list[tuple[bytes, str | None]] = []
    hook = FastAPI()

    @hook.post("/hook")
    async def take(request: Request) -> dict[str, str]:
        received.append((await request.body(), request.headers.get("x-secret")))
        return {"ok": "yes"}

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(hook, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.02)
        async with _client(create_app()) as ch:
            webhook = {"webhook_url": f"http://127.0.0.1:{port}/hook", "webhook_headers": {"x-secret": "s"}}
            await ch.put("/admin/settings", json=webhook)
            await ch.post("/x12/837", content=_837())
            r = await ch.post("/admin/claims/C0000000000000000001/adjudicate", json={"outcome": "paid"})
            assert r.json()["pushed"] == 200
            assert received == [(r.json()["x12"].encode(), "s")]
            feed = (await ch.get("/x12/835", params={"since": 0})).json()
            assert [i["seq"] for i in feed["remittances"]] == [1]
            assert (await ch.get("/x12/835", params={"since": feed["next"]})).json()["remittances"] == []
    finally:
        server.should_exit = True
        await task


async def test_adjudicating_an_unknown_claim_is_404() -> None:
    async with _client(create_app()) as ch:
        r = await ch.post("/admin/claims/NOPE/adjudicate", json={"outcome": "paid"})
        assert r.status_code == 404
