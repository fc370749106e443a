"""The whole system as a user meets it: every service, the sandboxes and the gateway as real processes
(the same launcher `make run` uses), on this test run's PostgreSQL and broker, with a real SMTP server.
One stack per test session; each test works with its own clients and providers."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from devstack.infra import create_database, free_port
from devstack.mail import Mailbox, start_smtp
from devstack.stack import GATEWAY, SANDBOXES, SERVICES, Stack
from kit.testing.helpers import TopicReader
from kit.testing.plugin import Infra

LOG_DIR = Path(".data") / "e2e-logs"


@dataclass
class System:
    url: str
    stack: Stack
    mailbox: Mailbox
    topics: TopicReader
    log_dir: Path
    urls: dict[str, str] = field(default_factory=dict)
    # Every name, e-mail address and token the tests handed the system: none may appear in its logs.
    secrets: set[str] = field(default_factory=set)

    def client(self, token: str | None = None) -> httpx.AsyncClient:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=30)

    async def token(self, role: str, **ids: Any) -> str:
        async with httpx.AsyncClient(base_url=self.url) as client:
            body = {"role": role, **{k: str(v) for k, v in ids.items()}}
            response = await client.post("/dev/tokens", json=body)
            response.raise_for_status()
            token = str(response.json()["access_token"])
            self.secrets.add(token)
            return token

    async def as_(self, role: str, **ids: Any) -> httpx.AsyncClient:
        return self.client(await self.token(role, **ids))

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.log_dir.glob("*.log")))


@pytest.fixture(scope="session")
def system(infra: Infra) -> Iterator[System]:
    """Start everything once for the e2e tests."""
    from sqlalchemy.engine import make_url

    base = make_url(infra.admin_url).set(database=None).render_as_string(hide_password=False)
    database_url = create_database(base, f"parity_e2e_{uuid.uuid4().hex[:8]}")
    mailbox = Mailbox()
    smtp_port = free_port()
    smtp = start_smtp(mailbox, smtp_port)
    prefix = f"e2e{uuid.uuid4().hex[:6]}."
    log_dir = LOG_DIR / uuid.uuid4().hex[:8]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "PYTEST"))}
    env.update(
        {
            "ENVIRONMENT": "test",
            "DATABASE_URL": database_url,
            "KAFKA_BOOTSTRAP_SERVERS": infra.kafka,
            "KAFKA_TOPIC_PREFIX": prefix,
            "KAFKA_PARTITIONS": "3",
            "KAFKA_SESSION_TIMEOUT_MS": "1000",
            "RELAY_POLL_INTERVAL_S": "0.05",
            "SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
            "CLOCK": "controllable",
            "DEV_ISSUER_ENABLED": "true",
            "DEV_ISSUER_KEY_FILE": str(log_dir / "issuer.pem"),
            "DATABASE_POOL_SIZE": "5",
            "JOB_INTERVAL_S": "0.5",
            "CLAIM_SUBMIT_INTERVAL_S": "0.5",
            "REMITTANCE_POLL_INTERVAL_S": "0.5",
            "NOTES_DEADLINE_INTERVAL_S": "0.5",
            "REFUND_JOB_INTERVAL_S": "0.5",
            "SENDER_INTERVAL_S": "0.2",
            "RATE_LIMIT_PER_IP": "100000/minute",
            "RATE_LIMIT_PER_IDENTITY": "100000/minute",
        }
    )
    for app in (*SANDBOXES, *SERVICES, GATEWAY):
        env[app.port_env] = str(free_port())
    stack = Stack(env=env, log_dir=log_dir)
    try:
        stack.start_infra()  # with everything external configured, this only fills in service URLs
        stack.prepare()
        stack.start_apps()
        urls = {a.name: f"http://127.0.0.1:{stack.port(a)}" for a in (*SANDBOXES, *SERVICES, GATEWAY)}
        yield System(
            url=urls["gateway"],
            stack=stack,
            mailbox=mailbox,
            topics=TopicReader(infra.kafka, prefix),
            log_dir=log_dir,
            urls=urls,
        )
    finally:
        stack.stop()
        smtp.stop()


async def advance_clocks(system: System, days: float) -> None:
    """Move every service's controllable clock forward (the e2e stack runs with CLOCK=controllable)."""
    from kit.testing.helpers import OPS

    async with httpx.AsyncClient(headers=OPS, timeout=10) as client:
        for service in ("eligibility", "claims"):
            response = await client.post(f"{system.urls[service]}/ops/clock/advance", json={"days": days})
            response.raise_for_status()


async def register_client(system: System, *, home_state: str = "NY", **extra: Any) -> tuple[str, str, str]:
    """Ops registers a client; returns (client id, e-mail, client token)."""
    email = f"client.{uuid.uuid4().hex[:10]}@example.com"
    last_name = f"Vale{uuid.uuid4().hex[:6]}"
    system.secrets.update({email, last_name})
    async with await system.as_("ops") as ops:
        response = await ops.post(
            "/v1/clients",
            json={
                "first_name": "Robin",
                "last_name": last_name,
                "date_of_birth": "1988-09-30",
                "email": email,
                "home_state": home_state,
                **extra,
            },
        )
    assert response.status_code == 201, response.text
    client_id = response.json()["id"]
    return client_id, email, await system.token("client", client_id=client_id)


async def stage_member(system: System, member_id: str, **body: Any) -> None:
    """Set what the sandbox clearinghouse answers for a member (its admin API, as a payer's data would be)."""
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.put(f"{system.urls['clearinghouse']}/admin/members/{member_id}", json=body)
        response.raise_for_status()


def new_npi() -> str:
    """A fresh NPI that passes the check digit (Luhn over the 80840 prefix)."""
    import random

    from stdnum import luhn

    body = str(random.randint(100_000_000, 999_999_999))
    return body + luhn.calc_check_digit("80840" + body)


async def register_provider(
    system: System,
    *,
    licences: list[str],
    credentials: list[tuple[str, str, str]],
    practice_state: str = "NY",
) -> tuple[str, str, str]:
    """Ops registers a provider; returns (provider id, e-mail, provider token).

    `credentials` are (payer_id, state, network) triples; `licences` are states."""
    email = f"provider.{uuid.uuid4().hex[:10]}@example.com"
    system.secrets.add(email)
    provider_id = str(uuid.uuid4())
    async with await system.as_("ops") as ops:
        response = await ops.post(
            "/v1/providers",
            json={
                "id": provider_id,
                "npi": new_npi(),
                "name": f"Sam Rivera{uuid.uuid4().hex[:4]}, LCSW",
                "email": email,
                "practice_locations": [
                    {
                        "state": practice_state,
                        "address_line": "1 Main St",
                        "city": "Springfield",
                        "postal_code": "10001",
                    }
                ],
                "licences": [
                    {
                        "state": s,
                        "type": "LCSW",
                        "number": f"L-{s}-{uuid.uuid4().hex[:6]}",
                        "expires_on": "2030-01-01",
                    }
                    for s in licences
                ],
                "credentials": [{"payer_id": p, "state": s, "network": n} for p, s, n in credentials],
            },
        )
    assert response.status_code == 201, response.text
    return provider_id, email, await system.token("provider", provider_id=provider_id)


async def covered_client(
    system: System, *, payer_id: str, member_prefix: str, home_state: str, benefits: dict[str, Any]
) -> tuple[str, str, str, str, str]:
    """A client with a verified, active coverage; returns (client id, e-mail, token, coverage id, member id)."""
    member_id = f"{member_prefix}{uuid.uuid4().hex[:9].upper()}"
    system.secrets.add(member_id)
    await stage_member(system, member_id, status="active", benefits=benefits)
    client_id, email, token = await register_client(system, home_state=home_state)
    async with system.client(token) as me:
        coverage = await me.post(
            f"/v1/clients/{client_id}/coverages", json={"payer_id": payer_id, "member_id": member_id}
        )
        assert coverage.status_code == 201, coverage.text
        coverage_id = coverage.json()["id"]
        verified = await me.post(f"/v1/coverages/{coverage_id}/verify")
        assert verified.status_code == 200, verified.text
        client = (await me.get(f"/v1/clients/{client_id}")).json()
    assert client["cleared_for_scheduling"] is True, client
    return client_id, email, token, coverage_id, member_id


async def join_care_team(system: System, client_token: str, client_id: str, provider_id: str) -> None:
    """The client adds the provider to their care team; only then may the provider act for them."""
    async with system.client(client_token) as me:
        response = await me.post(f"/v1/clients/{client_id}/care-team", json={"provider_id": provider_id})
    assert response.status_code == 201, response.text
