"""Re-pricing after a plan-wide benefit correction: N clients x 10 sessions in one plan.

Prints sessions re-priced per second, measured from the correction until every new cost is committed and
every `cost.changed` has been published to the broker by the outbox relay, and the memory of the process that
re-prices. The relay runs in its own process, the pricing service with only its relay on, as the relay
Deployment runs it (deploy/k8s/base/workload/relay.yaml).
Run: `.venv/bin/python -m bench.bench_repricing [clients]` (default 10,000 clients = 100,000 sessions).
Starts its own embedded PostgreSQL (durable: fsync on) and Tansu broker. Prints figures; asserts nothing about
time.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import asyncpg
import uvloop

from bench.harness import Stack, cpu_line, cpu_seconds, rss_mib
from kit.messaging.kafka import ensure_topics
from kit.messaging.relay import asyncpg_dsn
from kit.migrations import upgrade
from kit.runtime import Runtime, settle_heap
from pricing.config import Settings
from pricing.costing.costshare import PlanTerms
from pricing.costing.service import because
from pricing.fees.service import correct_plan_benefits, reprice_in_bulk
from pricing.models import messaging

SESSIONS_PER_CLIENT = 10
PROFILE = "--profile" in sys.argv
PG_STATS = os.environ.get("BENCH_PG_STATS") == "1"  # where PostgreSQL's time went, statement by statement
PAYER = "aetna"
YEAR = date(2026, 1, 1)


def rss_mb(field: str = "VmRSS") -> float:
    """Resident memory now (VmRSS) or at its peak (VmHWM: unlike ru_maxrss, not inherited from the parent
    that started this process, e.g. `make bench`)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


async def seed(dsn: str, clients: int) -> list[uuid.UUID]:
    conn = await asyncpg.connect(dsn)
    ids = [uuid.uuid4() for _ in range(clients)]
    covs = [uuid.uuid4() for _ in range(clients)]
    now = datetime.now(UTC)
    await conn.copy_records_to_table(
        "clients", schema_name="pricing", columns=["client_id"], records=[(c,) for c in ids]
    )
    await conn.copy_records_to_table(
        "coverages",
        schema_name="pricing",
        columns=["coverage_id", "client_id", "payer_id"],
        records=list(zip(covs, ids, [PAYER] * clients, strict=True)),
    )
    await conn.copy_records_to_table(
        "benefit_snapshots",
        schema_name="pricing",
        columns=[
            "coverage_id",
            "plan_year_start",
            "plan_year_end",
            "copay",
            "deductible",
            "deductible_met",
            "out_of_pocket_max",
            "out_of_pocket_met",
        ],
        records=[
            (
                c,
                YEAR,
                date(2026, 12, 31),
                Decimal("20.00"),
                Decimal("500.00"),
                Decimal("0.00"),
                Decimal("3000.00"),
                Decimal("0.00"),
            )
            for c in covs
        ],
    )
    sessions = []
    for cid, cov in zip(ids, covs, strict=True):
        for i in range(SESSIONS_PER_CLIENT):
            sessions.append(
                (
                    uuid.uuid4(),
                    cid,
                    uuid.uuid4(),
                    cov,
                    PAYER,
                    YEAR + timedelta(days=7 * i + 5),
                    "90837",
                    "standard",
                    now,
                )
            )
    await conn.copy_records_to_table(
        "sessions",
        schema_name="pricing",
        columns=[
            "session_id",
            "client_id",
            "provider_id",
            "coverage_id",
            "payer_id",
            "date_of_service",
            "cpt_code",
            "billing_route",
            "confirmed_at",
        ],
        records=sessions,
    )
    await conn.close()
    return sorted(ids)


async def unsent(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM pricing.outbox WHERE sent_at IS NULL"))
    finally:
        await conn.close()


async def on_topic(dsn: str) -> int:
    """How many `cost.changed` the relay has published (acknowledged by the broker, then marked sent)."""
    conn = await asyncpg.connect(dsn)
    try:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM pricing.outbox WHERE topic = 'cost.changed' AND sent_at IS NOT NULL"
            )
        )
    finally:
        await conn.close()


async def print_statements(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT calls, round(total_exec_time) AS ms, rows, left(regexp_replace(query, '\\s+', ' ', 'g'), 110) AS q "
            "FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 12"
        )
        hot = await conn.fetchrow(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE schemaname = 'pricing' "
            "AND relname = 'sessions'"
        )
    finally:
        await conn.close()
    print(
        f"sessions updated: {hot['n_tup_upd']:,}, of which heap-only (no index entries): {hot['n_tup_hot_upd']:,}"
    )
    print("PostgreSQL statements (calls, ms, rows):")
    for r in rows:
        print(f"  {r['calls']:>5} {r['ms']:>7} {r['rows']:>8}  {r['q']}")


async def main(clients: int) -> None:
    with Stack("repricing") as stack:
        url = stack.start_postgres("bench")
        kafka = stack.start_broker()
        await asyncio.to_thread(upgrade, "pricing", url)
        settings = Settings(
            database_url=url,
            kafka_bootstrap_servers=kafka,
            kafka_topic_prefix="bench.",
            kafka_partitions=6,
            run_consumers=False,
            run_scheduler=False,
            run_relay=False,
            relay_batch_size=2000,
        )
        await ensure_topics(settings)
        dsn = asyncpg_dsn(url)
        ids = await seed(dsn, clients)
        total = clients * SESSIONS_PER_CLIENT
        # First prices (not measured), then mark their events as already published.
        runtime = Runtime.build(settings, messaging)
        t = time.perf_counter()
        first = await reprice_in_bulk(
            runtime, client_ids=ids, reason_for=because("first_price", when=lambda s: True)
        )
        print(f"seeded and first-priced {first:,} sessions in {time.perf_counter() - t:.1f}s (not measured)")
        conn = await asyncpg.connect(dsn)
        await conn.execute("UPDATE pricing.outbox SET sent_at = now()")
        await conn.execute("VACUUM ANALYZE")
        await conn.close()
        await runtime.stop()

        # The relay in its own process, as deployed; the clock starts once it is up and idle.
        stack.env.update(KAFKA_TOPIC_PREFIX="bench.", KAFKA_PARTITIONS="6", RELAY_BATCH_SIZE="2000")
        stack.spawn(
            "relay",
            "pricing.main:create_app",
            env={"RUN_RELAY": "true", "RUN_CONSUMERS": "false", "RUN_SCHEDULER": "false"},
        )
        relay = stack.services["relay"]
        runtime = Runtime.build(settings, messaging)
        if PG_STATS:
            conn = await asyncpg.connect(dsn)
            await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            await conn.execute("SELECT pg_stat_statements_reset()")
            await conn.close()
        settle_heap()  # as the service's start-up does, once everything is loaded
        rss_before = rss_mb()
        cpu_before = {**cpu_seconds(stack.everything()), "repricing": time.process_time()}
        t0 = time.perf_counter()
        # The correction: no deductible and a $35 copay, so every session's cost changes.
        terms = PlanTerms(
            deductible=Decimal("0.00"), out_of_pocket_max=Decimal("3000.00"), copay=Decimal("35.00")
        )
        if PROFILE:
            import cProfile
            import pstats

            prof = cProfile.Profile()
            prof.enable()
        changed = await correct_plan_benefits(runtime, payer_id=PAYER, plan_year_start=YEAR, terms=terms)
        if PROFILE:
            prof.disable()
            pstats.Stats(prof).sort_stats("tottime").print_stats(40)
        t_committed = time.perf_counter()
        while await unsent(dsn):
            await asyncio.sleep(0.05)
        t1 = time.perf_counter()
        cpu_after = {**cpu_seconds(stack.everything()), "repricing": time.process_time()}
        published = await on_topic(dsn)
        if PG_STATS:
            await print_statements(dsn)
        await runtime.stop()
        print(f"sessions in the plan:            {total:,}")
        print(f"costs changed (cost.changed):    {changed:,}")
        print(
            f"all new costs committed after:   {t_committed - t0:.2f}s  ({changed / (t_committed - t0):,.0f} sessions/s)"
        )
        print(f"all cost.changed on the topic:   {t1 - t0:.2f}s")
        print(f"cost.changed published:          {published - first:,}")
        print(f"RE-PRICING THROUGHPUT:           {changed / (t1 - t0):,.0f} sessions/s (end to end)")
        print(
            f"RSS before/after re-pricing:     {rss_before:.0f} MB / {rss_mb():.0f} MB "
            f"(peak {rss_mb('VmHWM'):.0f} MB); "
            f"relay process {rss_mib(relay):.0f} MiB"
        )
        print(cpu_line(cpu_before, cpu_after, changed // 1000 or 1, "1,000 sessions"))
        print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    # On uvloop, as the pricing service (and so its bulk re-pricing) runs under uvicorn.
    uvloop.run(main(int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 10_000))
