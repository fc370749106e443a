"""Workload for the eligibility benchmarks: clients with a coverage whose member the sandbox clearinghouse
answers the way the benchmark needs, an SMTP sink that notes when each e-mail was accepted, and an open-loop
driver that sends verifications at a fixed rate."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import httpx
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from bench.targets import IDENTITY
from devstack.infra import free_port


@dataclass
class SmtpSink:
    """Accepts every e-mail and records, per recipient, the times messages were accepted."""

    port: int = field(default_factory=free_port)
    accepted: dict[str, list[float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        now = time.time()
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.accepted.setdefault(rcpt.lower(), []).append(now)
        return "250 OK"

    def first_after(self, rcpt: str, t0: float) -> float | None:
        with self.lock:
            return next((t for t in self.accepted.get(rcpt.lower(), []) if t >= t0), None)

    def __enter__(self) -> SmtpSink:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"


@dataclass(frozen=True)
class Case:
    client_id: str
    coverage_id: str
    email: str


async def make_cases(
    eligibility: str, clearinghouse: str, n: int, *, member: dict[str, Any], tag: str, concurrency: int = 16
) -> list[Case]:
    """n clients, each with a coverage on their own sandbox member staged as `member` says."""
    sem = asyncio.Semaphore(concurrency)

    async def one(client: httpx.AsyncClient, i: int) -> Case:
        member_id = f"{tag}{i:07d}"
        email = f"bench-{tag.lower()}-{i}@example.test"
        async with sem:
            (await client.put(f"{clearinghouse}/admin/members/{member_id}", json=member)).raise_for_status()
            body = {
                "first_name": "Bench",
                "last_name": f"Client{i}",
                "date_of_birth": "1990-01-01",
                "email": email,
                "home_state": "NY",
            }
            created = await client.post(f"{eligibility}/v1/clients", json=body, headers=IDENTITY)
            created.raise_for_status()
            client_id = created.json()["id"]
            coverage = await client.post(
                f"{eligibility}/v1/clients/{client_id}/coverages",
                json={"payer_id": "aetna", "member_id": member_id},
                headers=IDENTITY,
            )
            coverage.raise_for_status()
            return Case(client_id, coverage.json()["id"], email)

    async with httpx.AsyncClient(timeout=60) as client:
        return list(await asyncio.gather(*(one(client, i) for i in range(n))))


@dataclass
class Sent:
    case: Case
    started: float
    finished: float = 0.0
    status: int = 0
    outcome: str = ""


async def verify_open_loop(eligibility: str, cases: list[Case], rate: float) -> list[Sent]:
    """POST /v1/coverages/{id}/verify for every case, one every 1/rate seconds whatever the answers take.

    Sent through aiohttp's pool: the driver shares the machine's cores with what it measures, and httpx's
    pool scans every connection for every request once a thousand are open (encode/httpx #3215)."""
    connector = aiohttp.TCPConnector(limit=2000, limit_per_host=0)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, headers=IDENTITY) as client:

        async def one(sent: Sent) -> None:
            url = f"{eligibility}/v1/coverages/{sent.case.coverage_id}/verify"
            try:
                async with client.post(url) as r:
                    sent.status = r.status
                    body = await r.json(content_type=None)
                sent.outcome = str(body.get("outcome") if r.status == 200 else body.get("title", ""))
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                sent.outcome = type(exc).__name__
            sent.finished = time.time()

        tasks, results = [], []
        start = time.monotonic()
        for i, case in enumerate(cases):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            sent = Sent(case, started=time.time())
            results.append(sent)
            tasks.append(asyncio.create_task(one(sent)))
        await asyncio.gather(*tasks)
        return results
