"""Plan-wide changes (a contracted rate, a benefit correction for every member of a plan) re-priced in bulk:
set-based reads and batched writes, one transaction per chunk of clients."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert

from contracts.events import CostChangeReason
from kit.runtime import Runtime
from pricing.costing.costshare import PlanTerms
from pricing.costing.service import ReasonFor, because, reprice_clients
from pricing.models import fee_schedules, sessions


async def reprice_in_bulk(runtime: Runtime, *, client_ids: list[UUID], reason_for: ReasonFor) -> int:
    """Re-price these clients chunk by chunk (each chunk commits on its own); returns costs changed."""
    chunk: int = getattr(runtime.settings, "repricing_chunk_clients", 500)
    # Chunks hold disjoint clients, so they can run side by side: while PostgreSQL writes one chunk, this
    # process prices the next.
    gate = asyncio.Semaphore(getattr(runtime.settings, "repricing_concurrency", 2))

    async def one(ids: list[UUID]) -> int:
        async with gate, runtime.db.session() as db:
            return await reprice_clients(db, runtime=runtime, client_ids=ids, reason_for=reason_for)

    async with asyncio.TaskGroup() as group:  # a failed chunk cancels the rest; committed chunks stay
        tasks = [group.create_task(one(client_ids[i : i + chunk])) for i in range(0, len(client_ids), chunk)]
    return sum(t.result() for t in tasks)


async def set_rate(
    runtime: Runtime, *, payer_id: str, cpt_code: str, allowed_amount: Decimal, provider_rate: Decimal
) -> int:
    """Change a contracted (or self-pay) rate and re-price every session it prices."""
    async with runtime.db.session() as db:
        await db.execute(
            pg_insert(fee_schedules)
            .values(
                payer_id=payer_id,
                cpt_code=cpt_code,
                allowed_amount=allowed_amount,
                provider_rate=provider_rate,
            )
            .on_conflict_do_update(
                index_elements=[fee_schedules.c.payer_id, fee_schedules.c.cpt_code],
                set_={"allowed_amount": allowed_amount, "provider_rate": provider_rate},
            )
        )
        query = select(sessions.c.client_id).distinct().where(sessions.c.cpt_code == cpt_code)
        if payer_id not in ("*", "self_pay"):
            query = query.where(sessions.c.payer_id == payer_id)
        ids = sorted(r.client_id for r in await db.execute(query))
    reason: CostChangeReason = "fee_schedule_changed"
    return await reprice_in_bulk(
        runtime, client_ids=ids, reason_for=because(reason, when=lambda s: s.cpt_code == cpt_code)
    )


async def correct_plan_benefits(
    runtime: Runtime, *, payer_id: str, plan_year_start: Any, terms: PlanTerms
) -> int:
    """A benefit correction for every coverage of one plan in one plan year, then a bulk re-price."""
    async with runtime.db.session() as db:
        rows = await db.execute(
            text(
                "UPDATE pricing.benefit_snapshots b SET copay = :copay, coinsurance_rate = :coins, "
                "deductible = :deductible, out_of_pocket_max = :oop FROM pricing.coverages c "
                "WHERE c.coverage_id = b.coverage_id AND c.payer_id = :payer AND b.plan_year_start = :start "
                "RETURNING c.client_id"
            ),
            {
                "copay": terms.copay,
                "coins": terms.coinsurance_rate,
                "deductible": terms.deductible,
                "oop": terms.out_of_pocket_max,
                "payer": payer_id,
                "start": plan_year_start,
            },
        )
        ids = sorted({r.client_id for r in rows})
    return await reprice_in_bulk(
        runtime,
        client_ids=ids,
        reason_for=because("corrected_benefits", when=lambda s: s.payer_id == payer_id),
    )
