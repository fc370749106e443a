"""Benchmark 2, event pipeline: N verifications that come back with the secondary flag, sent at a fixed rate,
from the request to the e-mail accepted by SMTP (eligibility -> coverage.flagged_secondary / cob.case_opened ->
notifications -> SMTP). `python -m bench.bench_pipeline`; BENCH_PIPELINE_N (default 500), BENCH_PIPELINE_RATES
(default "200,25": one run per rate, each with its own stack).

It runs the services on the path (eligibility and notifications, with PostgreSQL, the broker, the clearinghouse
sandbox and an SMTP sink); claims and pricing, which consume the same events on their own pods in production,
would take the CPU of this 2-core machine from the path. BENCH_PIPELINE_ALL=1 starts every service."""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter

import asyncpg

from bench.eligibility_load import SmtpSink, make_cases, verify_open_loop
from bench.harness import Report, Stack, cpu_line, cpu_seconds, machine, own_cpu_seconds, percentile
from bench.targets import SERVICES, start_everything
from kit.messaging.relay import asyncpg_dsn

# Where the time between eligibility's commit and the e-mail went, per cob.case_opened that sent one, from the
# timestamps the services write (eligibility's outbox row, notifications' row): waiting in eligibility's
# outbox, broker and notifications' consumer, notifications' sender queue and SMTP.
STAGES = """
SELECT n.recipient_id::text,
       extract(epoch FROM o.sent_at - o.created_at) * 1000,
       extract(epoch FROM n.created_at - o.sent_at) * 1000,
       extract(epoch FROM n.sent_at - n.created_at) * 1000
FROM notifications.notifications n JOIN eligibility.outbox o ON o.event_id = n.event_id
WHERE n.status = 'sent' AND n.template = 'client_cob_paused'
"""
STAGE_NAMES = ("eligibility outbox", "broker and notifications consumer", "notifications sender and SMTP")


async def stages(database_url: str) -> dict[str, tuple[float, float, float]] | str:
    """Per client, the three stages (ms); or why they could not be read."""
    try:
        conn = await asyncpg.connect(asyncpg_dsn(database_url))
        try:
            rows = await conn.fetch(STAGES)
        finally:
            await conn.close()
    except (asyncpg.PostgresError, OSError) as exc:
        return f"Stages unavailable: {type(exc).__name__}: {exc}"
    return {r[0]: (float(r[1]), float(r[2]), float(r[3])) for r in rows}


def stage_lines(found: dict[str, tuple[float, float, float]] | str, e2e: dict[str, float]) -> list[str]:
    """The stages' percentiles, and where the slowest e-mails (end to end) spent their time."""
    if isinstance(found, str):
        return [found]
    if not found:
        return []
    cols = [[v[i] for v in found.values()] for i in range(3)]
    lines = [
        "Stages after eligibility's commit (p50 / p99 ms): "
        + "; ".join(
            f"{name} {percentile(c, 50):,.0f} / {percentile(c, 99):,.0f}"
            for name, c in zip(STAGE_NAMES, cols, strict=True)
        )
    ]
    slowest = sorted((t, client) for client, t in e2e.items() if client in found)
    tail = slowest[-max(len(slowest) // 20, 1) :]
    if tail:
        mean = [sum(found[c][i] for _, c in tail) / len(tail) for i in range(3)]
        lines += [
            "",
            f"The slowest 5% end to end ({len(tail)} e-mails, {tail[0][0]:,.0f} ms and more), mean ms: "
            + "; ".join(f"{name} {m:,.0f}" for name, m in zip(STAGE_NAMES, mean, strict=True))
            + f"; the rest (the verification until its commit, SMTP after the sender's record) "
            f"{sum(t for t, _ in tail) / len(tail) - sum(mean):,.0f}",
        ]
    return lines


# Only the measured requests verify: the scheduled verification of new coverages is pushed past the run.
ELIGIBILITY_ENV = {"JOB_INTERVAL_S": "3600"}
IDLE_S = 5.0


async def measure(stack: Stack, urls: dict[str, str], sink: SmtpSink, n: int, rate: float) -> list[str]:
    member = {"status": "secondary", "other_payer_name": "AETNA"}
    cases = await make_cases(urls["eligibility"], urls["clearinghouse"], n, member=member, tag="PIPE")
    await asyncio.sleep(3)  # let set-up e-mails (if any) go out before the clock starts
    # What the stack costs doing nothing (consumers' empty fetches, relays' and senders' polls, the broker).
    idle_from = cpu_seconds(stack.everything())
    await asyncio.sleep(IDLE_S)
    idle = cpu_line(idle_from, cpu_seconds(stack.everything()), 1, "second idle", scale=1 / IDLE_S)
    before = cpu_seconds(stack.everything())
    before_here = own_cpu_seconds()
    # The mark to attach a sampling profiler at.
    print(f"offering {n} verifications at {rate:g}/s", flush=True)
    sent = await verify_open_loop(urls["eligibility"], cases, rate)
    deadline = time.monotonic() + 120
    while (
        time.monotonic() < deadline
        and sum(sink.first_after(s.case.email, s.started) is not None for s in sent) < n
    ):
        await asyncio.sleep(0.2)
    acked = [s for s in sent if s.status == 200]
    mailed = {id(s): t for s in sent if (t := sink.first_after(s.case.email, s.started)) is not None}
    e2e = [(mailed[id(s)] - s.started) * 1000 for s in acked if id(s) in mailed]
    http = [(s.finished - s.started) * 1000 for s in sent]
    # From eligibility's answer to the e-mail: the event pipeline alone (relay, broker, consumer, sender, SMTP).
    after = [(mailed[id(s)] - s.finished) * 1000 for s in acked if id(s) in mailed]
    span = max(mailed.values()) - min(s.started for s in sent) if mailed else float("nan")
    refused = Counter(f"{s.status} {s.outcome}" for s in sent if s.status != 200)
    spent = cpu_seconds(stack.everything())
    spent_here = own_cpu_seconds()
    cpu = cpu_line(before, spent, n, "verification")
    per_email = cpu_line(before, spent, len(mailed), "e-mail") if mailed else ""
    if mailed:  # this process: the load driver and the SMTP sink, on the same two cores as the rest
        per_email += f"; and this benchmark's process (driver and SMTP sink) {1000 * (spent_here - before_here) / len(mailed):.1f}"
    by_client = {s.case.client_id: (mailed[id(s)] - s.started) * 1000 for s in acked if id(s) in mailed}
    where = stage_lines(await stages(stack.env["DATABASE_URL"]), by_client)
    return [
        f"| {n} | {rate:g}/s | {len(acked)} | {len(mailed)} | {len(mailed) / span:,.1f}/s | "
        f"{percentile(e2e, 50):,.0f} | {percentile(e2e, 99):,.0f} | {percentile(http, 50):,.0f} | "
        f"{percentile(http, 99):,.0f} | {len(acked) - len(e2e)} | "
        f"{', '.join(f'{k}: {v}' for k, v in refused.most_common()) or '-'} | "
        f"{percentile(after, 50):,.0f} | {percentile(after, 99):,.0f} |",
        "",
        cpu,
        "",
        per_email,
        "",
        *where,
        "",
        idle,
    ]


def run(report: Report) -> None:
    n = int(os.environ.get("BENCH_PIPELINE_N", "500"))
    rates = [float(r) for r in os.environ.get("BENCH_PIPELINE_RATES", "200,25").split(",")]
    for rate in rates:
        run_at(report, n, rate)


def run_at(report: Report, n: int, rate: float) -> None:
    with Stack("pipeline") as stack, SmtpSink() as sink:
        everything = os.environ.get("BENCH_PIPELINE_ALL") == "1"
        urls = start_everything(
            stack,
            smtp_url=sink.url,
            service_env={"eligibility": ELIGIBILITY_ENV},
            services=SERVICES if everything else ("eligibility", "notifications"),
            api_processes={"eligibility": int(os.environ.get("BENCH_PIPELINE_API_PROCESSES", "0"))},
        )
        report.rss("pipeline", "idle", {k: stack.services[k] for k in ("eligibility", "notifications")})
        rows = asyncio.run(measure(stack, urls, sink, n, rate))
        report.section(
            f"Event pipeline (2), {rate:g}/s offered",
            [
                f"Machine: {machine()}",
                "Verification (POST /v1/coverages/{id}/verify, 271 with the secondary flag) to the client's e-mail "
                "accepted by SMTP; every service in its own process with its workers on"
                + (" (all four services)." if everything else " (eligibility and notifications, the path)."),
                "",
                "| verifications | offered rate | answered 200 | e-mails | e-mails per second | e2e p50 ms | "
                "e2e p99 ms | verify p50 ms | verify p99 ms | answered 200 without e-mail | refused | "
                "answer to e-mail p50 ms | answer to e-mail p99 ms |",
                "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|",
                *rows,
            ],
        )
        report.rss("pipeline", "after load", {k: stack.services[k] for k in ("eligibility", "notifications")})


def main() -> None:
    report = Report()
    run(report)
    print("\n" + "\n".join(report.memory_table()))


if __name__ == "__main__":
    main()
