"""Workload for the eligibility benchmarks: clients with a coverage whose member the sandbox clearinghouse
answers the way the benchmark needs, an SMTP sink that notes when each e-mail was accepted, and an open-loop
driver that sends verifications at a fixed rate."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import httptools
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


class _Exchange(asyncio.Protocol):
    """One keep-alive connection of the load driver: writes a pre-built request, reads its answer with
    httptools (the parser uvicorn uses), and says when the whole answer is in."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.made = asyncio.get_running_loop().create_future()  # uvloop may call connection_made late
        self.parser = httptools.HttpResponseParser(self)
        self.done: asyncio.Future[tuple[int, bytes]] | None = None
        self.body: list[bytes] = []
        self.keep_alive = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not an asyncio.Transport subclass
        if not self.made.done():
            self.made.set_result(None)

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        await self.made
        assert self.transport is not None
        self.done = asyncio.get_running_loop().create_future()
        self.body = []
        self.transport.write(request)
        return await self.done

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(exc)

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.keep_alive = self.parser.should_keep_alive()
        if self.done is not None and not self.done.done():
            self.done.set_result((self.parser.get_status_code(), b"".join(self.body)))

    def connection_lost(self, exc: Exception | None) -> None:
        self.keep_alive = False
        if not self.made.done():
            self.made.set_exception(exc or ConnectionResetError("connection closed"))
        self._fail(exc or ConnectionResetError("connection closed"))

    def _fail(self, exc: Exception) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_exception(exc)


async def verify_open_loop(
    eligibility: str,
    cases: list[Case],
    rate: float,
    *,
    warm: int = 0,
    ready: Callable[[], None] = lambda: None,
) -> list[Sent]:
    """POST /v1/coverages/{id}/verify for every case, one every 1/rate seconds whatever the answers take.

    The driver shares the machine's two cores with what it measures, so it is as light as a load generator
    can be: each request is built once as bytes and sent over a kept-open connection of its own (a new one
    when every open connection is busy), and answers are read with httptools. An HTTP client library costs
    several times more per request (aiohttp's about 0.5 ms here, httpx's more, encode/httpx #3215)."""
    url = httpx.URL(eligibility)
    host, port = url.host, url.port or 80
    head = "".join(f"{k}: {v}\r\n" for k, v in IDENTITY.items())
    loop = asyncio.get_running_loop()
    idle: list[_Exchange] = []
    opened: list[_Exchange] = []

    async def one(sent: Sent) -> None:
        request = (
            f"POST /v1/coverages/{sent.case.coverage_id}/verify HTTP/1.1\r\nHost: {host}:{port}\r\n{head}"
            "Content-Length: 0\r\n\r\n"
        ).encode()
        try:
            while idle and not idle[-1].keep_alive:  # the server closed it meanwhile
                idle.pop()
            if idle:
                conn = idle.pop()
            else:
                _, conn = await loop.create_connection(_Exchange, host, port)
                opened.append(conn)
            sent.status, body = await asyncio.wait_for(conn.exchange(request), 120)
            if conn.keep_alive:
                idle.append(conn)
            answer = json.loads(body)
            sent.outcome = str(answer.get("outcome") if sent.status == 200 else answer.get("title", ""))
        except (OSError, TimeoutError, ValueError, httptools.HttpParserError) as exc:
            sent.outcome = type(exc).__name__
        sent.finished = time.time()

    for _ in range(warm):
        _, conn = await loop.create_connection(_Exchange, host, port)
        opened.append(conn)
        idle.append(conn)
    ready()
    tasks, results = [], []
    start = time.monotonic()
    try:
        for i, case in enumerate(cases):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            sent = Sent(case, started=time.time())
            results.append(sent)
            tasks.append(asyncio.create_task(one(sent)))
        await asyncio.gather(*tasks)
    finally:
        for conn in opened:
            if conn.transport is not None:
                conn.transport.close()
    return results
