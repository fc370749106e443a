"""Two pricing replicas take payments for one client while a benefits correction lowers what the client owes
and both run the refund job: the ledger balances and no refund is paid out twice."""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaProducer

from contracts.base import Event
from contracts.cloudevents import Envelope
from contracts.events import BenefitsChanged
from kit.testing.helpers import ServerThread, as_role, eventually
from kit.testing.plugin import Infra
from sandbox.cardprocessor.app import create_app as card_processor_app
from tests.faults.procs import Launcher, demo_env
from tests.pricing.conftest import NOW, benefits, confirmed

pytestmark = pytest.mark.fault

OPS = as_role("ops")


def _benefits(client: UUID, coverage: UUID, reason: str, **kw: str) -> BenefitsChanged:
    return BenefitsChanged(
        coverage_id=coverage,
        client_id=client,
        payer_id="aetna",
        snapshot_id=uuid4(),
        reason=reason,
        old=None,
        new=benefits(**kw),  # type: ignore[arg-type]
        changed_at=NOW,
    )


async def _publish(bootstrap: str, prefix: str, *events: Event) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False)
    await producer.start()
    try:
        for event in events:
            env = Envelope.wrap(event, source="test")
            await producer.send_and_wait(
                prefix + type(event).topic,
                key=env.subject.encode(),
                value=orjson.dumps(env.data),
                headers=list(env.headers()),
            )
    finally:
        await producer.stop()


async def test_concurrent_payments_and_refunds_on_two_replicas_balance_and_refund_once(
    infra: Infra, database_url: str, topic_prefix: str, kafka_topics: list[str], launch: Launcher
) -> None:
    client, coverage = uuid4(), uuid4()
    payer = as_role("client", client_id=client)
    card_app = card_processor_app()
    with ServerThread(card_app) as cards:
        env = demo_env(database_url, infra.kafka, topic_prefix, relay=True, consumers=True)
        env |= {"RUN_SCHEDULER": "true", "REFUND_JOB_INTERVAL_S": "0.1", "CARD_PROCESSOR_URL": cards.url}
        replicas = [launch(f"pricing-{i}", "pricing.main:create_app", env).start() for i in range(2)]
        sessions = [confirmed(client, day=date(2026, 2, d), coverage_id=coverage) for d in (3, 10, 17)]
        await _publish(
            infra.kafka, topic_prefix, _benefits(client, coverage, "first_verification", deductible="1000.00")
        )
        await _publish(infra.kafka, topic_prefix, *sessions)
        async with httpx.AsyncClient(timeout=30) as http:

            async def balance() -> dict[str, Any]:
                r = await http.get(f"{replicas[0].url}/v1/clients/{client}/balance", headers=payer)
                return dict(r.json()) if r.status_code == 200 else {}

            await eventually(
                lambda: _outstanding_is(balance(), Decimal("450.00")),
                timeout=30,
                what="three sessions priced",
            )

            async def pay(i: int, key: str) -> httpx.Response:
                return await http.post(
                    f"{replicas[i % 2].url}/v1/clients/{client}/payments",
                    json={"amount": "30.00", "card_token": "tok_visa"},
                    headers={**payer, "Idempotency-Key": key},
                )

            keys = [f"fault-key-{i:04d}" for i in range(10)]
            lower = [
                _benefits(client, coverage, "corrected_data", deductible="0.00", copay="20.00") for _ in "ab"
            ]
            answers, _ = await asyncio.gather(
                asyncio.gather(*(pay(i, k) for i, k in enumerate(keys)), pay(1, keys[0])),
                _publish(infra.kafka, topic_prefix, *lower),
            )
            await eventually(lambda: _settled(balance()), timeout=30, what="refunds issued")
            ledger = (await http.get(f"{replicas[1].url}/v1/clients/{client}/ledger", headers=OPS)).json()
            refunds = (await http.get(f"{replicas[0].url}/v1/clients/{client}/refunds", headers=OPS)).json()
            final = await balance()

    charges = list(card_app.state.ledger.charges.values())
    paid = {r.json()["payment_id"] for r in answers if r.status_code == 201}
    assert len(charges) == len(paid), "one card charge per accepted payment, the repeated key included"
    for t in ledger["transactions"]:
        assert sum(Decimal(e["amount"]) for e in t["entries"]) == 0
    receivable = sum(
        Decimal(e["amount"])
        for t in ledger["transactions"]
        for e in t["entries"]
        if e["account"] == "receivable"
    )
    assert receivable == Decimal(final["outstanding"]) - Decimal(final["credits"]), "ledger and balance agree"
    assert all(c["amount_refunded"] <= c["amount"] for c in charges), "no charge refunded beyond itself"
    issued = sum((Decimal(r["amount"]) for r in refunds if r["status"] == "issued"), Decimal(0))
    refunded_by_cards = Decimal(sum(c["amount_refunded"] for c in charges)) / 100
    assert issued == refunded_by_cards, "the card processor refunded exactly what was issued, once"
    charged = Decimal(sum(c["amount"] for c in charges)) / 100
    owed = Decimal("60.00")  # three sessions at the $20 copay after the correction
    assert [r["status"] for r in refunds if r["status"] != "issued"] == [], "every staged refund went out"
    assert charged - refunded_by_cards == owed, "the overpayment went back to the client's card"


async def _outstanding_is(balance: Any, amount: Decimal) -> bool:
    b = await balance
    return bool(b) and Decimal(b["outstanding"]) == amount


async def _settled(balance: Any) -> bool:
    b = await balance
    return bool(b) and Decimal(b["refunds_pending"]) == 0 and Decimal(b["outstanding"]) <= Decimal("60.00")
