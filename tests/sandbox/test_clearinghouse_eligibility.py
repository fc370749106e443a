"""The sandbox clearinghouse speaks 270/271: scenarios, staged members and verbatim 271s."""

from __future__ import annotations

from datetime import date, datetime

import httpx

from eligibility.verification.x12_270 import Inquiry, Person, render_270
from sandbox.clearinghouse.app import create_app


def inquiry(member_id: str) -> str:
    return render_270(
        Inquiry(
            trace_number="T9",
            payer_name="Cigna",
            payer_x12_id="62308",
            member_id=member_id,
            group_number=None,
            subscriber=Person("Ada", "Lovelace", date(1990, 4, 12)),
            patient=None,
            relationship="self",
            service_date=date(2026, 3, 2),
            receiver_name="Parity",
            receiver_npi="1234567893",
        ),
        sender_id="PARITY",
        receiver_id="CH",
        created=datetime(2026, 3, 2, 12),
    )


async def test_clearinghouse_eligibility_answers_271_and_serves_staged_raw_271() -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app()), base_url="http://ch") as ch:
        answer = await ch.post(
            "/x12/270", content=inquiry("ACTIVE0001"), headers={"content-type": "application/edi-x12"}
        )
        assert answer.status_code == 200
        assert "ST*271*" in answer.text
        assert "TRN*2*T9*" in answer.text  # the inquiry's trace echoed
        await ch.put("/admin/members/VERBATIM01/raw-271", content="ISA*RAW~")
        verbatim = await ch.post("/x12/270", content=inquiry("VERBATIM01"))
        assert verbatim.text == "ISA*RAW~"
        refused = await ch.post("/x12/270", content="not x12")
        assert refused.status_code == 400


async def test_clearinghouse_refuses_a_270_it_cannot_answer_from() -> None:
    raw = inquiry("ACTIVE0001")
    broken = {
        "a 271 instead": raw.replace("ST*270*", "ST*271*"),
        "no subscriber": raw.replace("NM1*IL*", "NM1*XX*"),
        "no member id": raw.replace("*MI*ACTIVE0001", "*MI*"),
        "an impossible birth date": raw.replace("DMG*D8*19900412", "DMG*D8*19901341"),
        "another implementation guide": raw.replace("005010X279A1", "005010X222A1"),
    }
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app()), base_url="http://ch") as ch:
        assert (await ch.post("/x12/270", content=raw)).status_code == 200
        for what, body in broken.items():
            assert body != raw, what
            answer = await ch.post("/x12/270", content=body)
            assert answer.status_code == 400, what
