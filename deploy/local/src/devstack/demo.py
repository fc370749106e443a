"""`make demo`: against the running `make run` stack, walk through every story in the help-centre articles
and print what happened at each step, the e-mails sent and the events on each topic.

Talks to the gateway as the apps do (tokens from the development issuer), to the sandbox clearinghouse's admin
API as a payer's data would change, and to the services' ops clock to let a week pass.
"""

from __future__ import annotations

import asyncio
import os
import random
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from stdnum import luhn

from kit.testing.helpers import OPS, TopicReader

GATEWAY = os.environ.get("PARITY_URL", f"http://127.0.0.1:{os.environ.get('GATEWAY_PORT', '8000')}")
CLEARINGHOUSE = os.environ.get("CLEARINGHOUSE_URL", "http://127.0.0.1:8201")
ELIGIBILITY = os.environ.get("ELIGIBILITY_URL", "http://127.0.0.1:8101")
CLAIMS = os.environ.get("CLAIMS_URL", "http://127.0.0.1:8102")
MAIL = os.environ.get("MAIL_UI_URL", "http://127.0.0.1:8025")
KAFKA = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092")
TODAY = datetime.now(UTC).date()
YEAR = TODAY.year
PLAN = {
    "plan_year_start": f"{YEAR}-01-01",
    "plan_year_end": f"{YEAR}-12-31",
    "coinsurance_rate": "0.20",
    "deductible": "1000.00",
    "deductible_met": "0.00",
    "out_of_pocket_max": "4000.00",
    "out_of_pocket_met": "0.00",
}


def say(text: str) -> None:
    print(f"  {text}", flush=True)


def story(title: str) -> None:
    print(f"\n== {title}", flush=True)


class Demo:
    def __init__(self) -> None:
        self.http = httpx.AsyncClient(timeout=30)
        self.tokens: dict[str, str] = {}

    async def token(self, role: str, **ids: str) -> str:
        key = role + repr(sorted(ids.items()))
        if key not in self.tokens:
            r = await self.http.post(f"{GATEWAY}/dev/tokens", json={"role": role, **ids})
            r.raise_for_status()
            self.tokens[key] = r.json()["access_token"]
        return self.tokens[key]

    async def call(self, method: str, path: str, token: str, **kwargs: Any) -> httpx.Response:
        headers = {"authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        if (method == "POST" and path in ("/v1/sessions",)) or path.endswith(("/payments", "/recoupments")):
            headers.setdefault("idempotency-key", str(uuid.uuid4()))
        return await self.http.request(method, GATEWAY + path, headers=headers, **kwargs)

    async def wait(self, what: str, check: Any, timeout: float = 60) -> Any:
        for _ in range(int(timeout / 0.5)):
            result = await check()
            if result:
                return result
            await asyncio.sleep(0.5)
        raise SystemExit(f"gave up waiting for {what}")

    async def stage(self, member_id: str, **body: Any) -> None:
        (await self.http.put(f"{CLEARINGHOUSE}/admin/members/{member_id}", json=body)).raise_for_status()

    async def client(self, name: str, home_state: str, payer_id: str, member_id: str) -> dict[str, str]:
        ops = await self.token("ops")
        email = f"{name.lower()}.{uuid.uuid4().hex[:6]}@example.com"
        r = await self.call(
            "POST",
            "/v1/clients",
            ops,
            json={
                "first_name": name,
                "last_name": "Demo",
                "date_of_birth": "1995-05-05",
                "email": email,
                "home_state": home_state,
            },
        )
        r.raise_for_status()
        cid = r.json()["id"]
        token = await self.token("client", client_id=cid)
        cov = await self.call(
            "POST", f"/v1/clients/{cid}/coverages", token, json={"payer_id": payer_id, "member_id": member_id}
        )
        cov.raise_for_status()
        verified = await self.call("POST", f"/v1/coverages/{cov.json()['id']}/verify", token)
        client = (await self.call("GET", f"/v1/clients/{cid}", token)).json()
        say(
            f"{name} ({payer_id}, member {member_id}): verification {verified.json().get('outcome')}, "
            f"coverage {verified.json().get('coverage_status', '')} -> account {client['account_status']}, "
            f"cleared for scheduling: {client['cleared_for_scheduling']}"
        )
        return {"id": cid, "token": token, "coverage": cov.json()["id"], "email": email, "member": member_id}

    async def provider(
        self, name: str, licences: list[str], creds: list[tuple[str, str, str]], state: str
    ) -> dict[str, str]:
        body = str(random.randint(100_000_000, 999_999_999))
        pid = str(uuid.uuid4())
        r = await self.call(
            "POST",
            "/v1/providers",
            await self.token("ops"),
            json={
                "id": pid,
                "npi": body + luhn.calc_check_digit("80840" + body),
                "name": name,
                "email": f"{name.split()[0].lower()}.{uuid.uuid4().hex[:6]}@example.com",
                "practice_locations": [
                    {"state": state, "address_line": "1 Main St", "city": "Town", "postal_code": "10001"}
                ],
                "licences": [
                    {"state": s, "type": "LCSW", "number": f"L{s}1", "expires_on": "2030-01-01"}
                    for s in licences
                ],
                "credentials": [{"payer_id": p, "state": s, "network": n} for p, s, n in creds],
            },
        )
        r.raise_for_status()
        say(
            f"provider {name}: licensed in {', '.join(licences)}; credentialed "
            + "; ".join(f"{p} in {s} ({n})" for p, s, n in creds)
        )
        return {"id": pid, "token": await self.token("provider", provider_id=pid)}

    async def session(
        self, prov: dict[str, str], client: dict[str, str], state: str, **extra: Any
    ) -> httpx.Response:
        # The client adds the provider to their care team (once); only then may the provider act for them.
        joined = await self.call(
            "POST", f"/v1/clients/{client['id']}/care-team", client["token"], json={"provider_id": prov["id"]}
        )
        joined.raise_for_status()
        loc = await self.wait("claims to know the client", lambda: self._location(prov, client, state))
        body = {
            "provider_id": prov["id"],
            "client_id": client["id"],
            "client_location_id": loc,
            "date_of_service": str(TODAY - timedelta(days=2)),
            "cpt_code": "90837",
            "duration_minutes": 55,
            "icd10_codes": ["F41.1"],
            "place_of_service": "10",
            "telehealth_modifier": "95",
            **extra,
        }
        return await self.call("POST", "/v1/sessions", prov["token"], json=body)

    async def _location(self, prov: dict[str, str], client: dict[str, str], state: str) -> str | None:
        r = await self.call(
            "POST",
            f"/v1/clients/{client['id']}/locations",
            prov["token"],
            json={
                "state": state,
                "kind": "temporary",
                "address_line": "2 Elm St",
                "city": "Town",
                "postal_code": "10001",
            },
        )
        return r.json()["id"] if r.status_code == 201 else None

    async def cost(self, client: dict[str, str], session_id: str, min_version: int = 1) -> dict[str, Any]:
        async def check() -> dict[str, Any] | None:
            body = (await self.call("GET", f"/v1/sessions/{session_id}/cost", client["token"])).json()
            current = body.get("current")
            return current if current and current["version"] >= min_version else None

        result: dict[str, Any] = await self.wait("the session's price", check)
        return result

    async def advance_week(self) -> None:
        for url in (ELIGIBILITY, CLAIMS):
            (
                await self.http.post(f"{url}/ops/clock/advance", json={"days": 8}, headers=OPS)
            ).raise_for_status()
        say("(ops moved the services' clocks forward 8 days)")


async def run() -> None:
    d = Demo()
    try:
        (await d.http.get(f"{GATEWAY}/readyz")).raise_for_status()
    except httpx.HTTPError:
        raise SystemExit("The stack is not running: start it with `make run` in another terminal.") from None
    tag = uuid.uuid4().hex[:6].upper()

    story("1. Secondary insurance: the plan comes back flagged secondary (seed 000)")
    await d.stage(f"SEC{tag}", status="secondary", other_payer_name="UnitedHealthcare")
    dana = await d.client("Dana", "NY", "aetna", f"SEC{tag}")
    cases = (await d.call("GET", f"/v1/clients/{dana['id']}/cob-cases", dana["token"])).json()
    say(
        f"COB case opened ({cases[0]['trigger']}); the client is told to call {cases[0]['instructions']['call']}"
    )
    say(f"and to say: {cases[0]['instructions']['say']}")

    story("2. COB follow-up one week later, both ways (seed 004)")
    waiting: dict[str, dict[str, str]] = {}
    for name, says in (("Eli", "primary"), ("Fay", "secondary")):
        member = f"COB{says[:3].upper()}{tag}"
        await d.stage(member, status="secondary", other_payer_name="Cigna")
        c = await d.client(name, "NY", "aetna", member)
        case = (await d.call("GET", f"/v1/clients/{c['id']}/cob-cases", c["token"])).json()[0]
        await d.call("POST", f"/v1/cob-cases/{case['id']}/client-update", c["token"])
        say(f"{name} called the insurer and told us; the insurer's records now say: {says}")
        if says == "primary":
            await d.stage(member, status="active", benefits=PLAN)
        c["case"] = case["id"]
        waiting[name] = c
    await d.advance_week()
    for name, c in waiting.items():

        async def resolved(c: dict[str, str] = c) -> dict[str, Any] | None:
            body = (await d.call("GET", f"/v1/cob-cases/{c['case']}", c["token"])).json()
            return body if body.get("outcome") else None

        case = await d.wait("the follow-up", resolved)
        client = (await d.call("GET", f"/v1/clients/{c['id']}", c["token"])).json()
        say(f"{name}: follow-up outcome {case['outcome']} -> account {client['account_status']}")

    story("3. BlueCard: a BCBS NC member studying in New York (seed 002)")
    await d.stage(f"YPB{tag}", status="active", benefits=PLAN)
    gus = await d.client("Gus", "NC", "bcbs-nc", f"YPB{tag}")
    anthem = await d.provider("Avery Anthem, LCSW", ["NY"], [("anthem-bcbs-ny", "NY", "standard")], "NY")
    s = await d.session(anthem, gus, "NY")
    say(f"session in NY: {s.status_code}, billed via {s.json().get('billing_route')}")
    gus_session = s.json()

    story("4. Virtual network: a BCBS MA member located in Texas (seed 002)")
    await d.stage(f"MAB{tag}", status="active", benefits=PLAN)
    hal = await d.client("Hal", "MA", "bcbs-ma", f"MAB{tag}")
    texan = await d.provider("Tess Texas, LPC", ["TX"], [("bcbs-ma", "TX", "virtual")], "TX")
    s = await d.session(texan, hal, "TX")
    say(f"session in TX: {s.status_code}, billed via {s.json().get('billing_route')}")

    story("5. Out of state on vacation: refused, unless it is a crisis session (seed 002)")
    await d.stage(f"AET{tag}", status="active", benefits=PLAN)
    ivy = await d.client("Ivy", "NY", "aetna", f"AET{tag}")
    nyc = await d.provider("Noor York, LMHC", ["NY"], [("aetna", "NY", "standard")], "NY")
    s = await d.session(nyc, ivy, "FL")
    say(f"routine session in FL: {s.status_code} - " + " | ".join(s.json().get("reasons", [])))
    s = await d.session(
        nyc,
        ivy,
        "FL",
        cpt_code="90839",
        duration_minutes=60,
        crisis_documentation="Acute crisis while travelling; safety plan made, resolved, follow-up set.",
    )
    say(f"crisis session in FL: {s.status_code}, billed via {s.json().get('billing_route')}")
    guidance = (
        await d.call("GET", f"/v1/providers/{nyc['id']}/clients/{ivy['id']}/billing-guidance", nyc["token"])
    ).json()
    for box in guidance.get("states", []):
        say(f"billing guidance {box['state']}: billable={box['billable']} route={box.get('route')}")

    story("6. Deductible met: the cost drops and the difference is refunded (seed 001)")
    price = await d.cost(gus, gus_session["id"])
    say(f"Gus's session first priced at ${price['amount']} ({price['reason']})")
    paid = await d.call(
        "POST",
        f"/v1/clients/{gus['id']}/payments",
        gus["token"],
        json={"amount": price["amount"], "card_token": "tok_visa", "session_ids": [gus_session["id"]]},
    )
    say(f"Gus pays ${price['amount']}: {paid.status_code}")
    await d.stage(gus["member"], status="active", benefits={**PLAN, "deductible_met": "1000.00"})
    await d.call("POST", f"/v1/coverages/{gus['coverage']}/verify", gus["token"])
    price = await d.cost(gus, gus_session["id"], min_version=2)
    say(f"insurer corrected: deductible already met -> new price ${price['amount']} ({price['reason']})")
    refunds = await d.wait(
        "the refund", lambda: _nonempty(d, f"/v1/clients/{gus['id']}/refunds", gus["token"])
    )
    say(f"refund of ${refunds[0]['amount']} ({refunds[0]['status']})")

    story("7. Corrected benefit: the cost goes up after payment, balance due (seed 001)")
    copay = {**PLAN, "coinsurance_rate": None, "copay": "20.00", "deductible": "0.00"}
    await d.stage(f"CPY{tag}", status="active", benefits=copay)
    jo = await d.client("Jo", "NY", "aetna", f"CPY{tag}")
    s = (await d.session(nyc, jo, "NY")).json()
    price = await d.cost(jo, s["id"])
    await d.call(
        "POST",
        f"/v1/clients/{jo['id']}/payments",
        jo["token"],
        json={"amount": price["amount"], "card_token": "tok_visa", "session_ids": [s["id"]]},
    )
    say(f"Jo paid ${price['amount']} copay")
    await d.stage(f"CPY{tag}", status="active", benefits={**copay, "copay": "45.00"})
    await d.call("POST", f"/v1/coverages/{jo['coverage']}/verify", jo["token"])
    await d.cost(jo, s["id"], min_version=2)

    async def owes() -> dict[str, Any] | None:
        body = (await d.call("GET", f"/v1/clients/{jo['id']}/balance", jo["token"])).json()
        return body if float(body.get("outstanding", 0)) > 0 else None

    balance = await d.wait("the balance due", owes)
    say(f"corrected copay $45 -> balance due ${balance['outstanding']} (e-mail with a pay-now link)")

    story("8. Clawbacks: our error vs the provider's (seed 003)")
    ops = await d.token("ops")

    async def claim_of(session_id: str) -> dict[str, Any] | None:
        cid = (await d.call("GET", f"/v1/sessions/{session_id}", ops)).json().get("claim_id")
        claim = (await d.call("GET", f"/v1/claims/{cid}", ops)).json() if cid else {}
        return claim if claim.get("status") in ("accepted", "submitted") else None

    claim = await d.wait("the claim at the clearinghouse", lambda: claim_of(s["id"]))
    await d.http.post(
        f"{CLEARINGHOUSE}/admin/claims/{claim['control_number']}/adjudicate",
        json={"outcome": "paid", "allowed_amount": "150.00", "patient_responsibility": "45.00"},
    )
    say(f"claim {claim['control_number']} adjudicated by the payer (835 posted by polling)")

    async def paid_claim() -> dict[str, Any] | None:
        body = (await d.call("GET", f"/v1/claims/{claim['id']}", ops)).json()
        return body if body["status"] in ("paid", "partially_paid") else None

    await d.wait("the 835 to be posted", paid_claim)
    for cause in ("benefits_changed_undetected", "codes_do_not_match_notes"):
        r = await d.call(
            "POST", f"/v1/claims/{claim['id']}/recoupments", ops, json={"amount": "40.00", "cause": cause}
        )
        say(f"payer recoups $40 for {cause}: {r.json().get('responsibility')} bears it")

    story("Events on the topics")
    reader = TopicReader(KAFKA, os.environ.get("KAFKA_TOPIC_PREFIX", ""))
    for topic in (
        "coverage.flagged_secondary",
        "client.status_changed",
        "cob.case_opened",
        "cob.case_resolved",
        "benefits.changed",
        "session.confirmed",
        "claim.submitted",
        "claim.adjudicated",
        "cost.changed",
        "balance.due",
        "payment.received",
        "refund.issued",
        "invoice.issued",
        "recoupment.decided",
    ):
        events = await reader.events(topic)
        kinds = Counter(
            e.data.get("reason") or e.data.get("outcome") or e.data.get("trigger") or "" for e in events
        )
        say(f"{topic:28} {len(events):4} events  {dict(kinds) if any(kinds) else ''}")

    story("E-mails sent (mail catcher)")
    try:
        mails = (await d.http.get(f"{MAIL}/api/messages")).json()
        for subject, n in Counter(m["subject"] for m in mails).most_common():
            say(f"{n:3} x {subject}")
    except httpx.HTTPError:
        say(f"(no mail catcher at {MAIL}; with SMTP_URL set, look in your relay)")
    await d.http.aclose()


async def _nonempty(d: Demo, path: str, token: str) -> list[Any] | None:
    body = (await d.call("GET", path, token)).json()
    return body or None


def main() -> None:
    asyncio.run(run())


if __name__ == "__main__":
    main()
