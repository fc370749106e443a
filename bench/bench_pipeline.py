"""Benchmark 2, event pipeline: N verifications that come back with the secondary flag, sent at a fixed rate,
from the request to the e-mail accepted by SMTP (eligibility -> coverage.flagged_secondary / cob.case_opened ->
notifications -> SMTP). `python -m bench.bench_pipeline`; BENCH_PIPELINE_N (default 1000), BENCH_PIPELINE_RATE
(default 200 per second)."""

from __future__ import annotations

import asyncio
import os
import time

from bench.eligibility_load import SmtpSink, make_cases, verify_open_loop
from bench.harness import Report, Stack, cpu_line, cpu_seconds, machine, percentile
from bench.targets import start_everything

# Only the measured requests verify: the scheduled verification of new coverages is pushed past the run.
ELIGIBILITY_ENV = {"JOB_INTERVAL_S": "3600"}


async def measure(stack: Stack, urls: dict[str, str], sink: SmtpSink, n: int, rate: float) -> list[str]:
    member = {"status": "secondary", "other_payer_name": "AETNA"}
    cases = await make_cases(urls["eligibility"], urls["clearinghouse"], n, member=member, tag="PIPE")
    await asyncio.sleep(3)  # let set-up e-mails (if any) go out before the clock starts
    before = cpu_seconds(stack.everything())
    sent = await verify_open_loop(urls["eligibility"], cases, rate)
    deadline = time.monotonic() + 120
    while (
        time.monotonic() < deadline
        and sum(sink.first_after(s.case.email, s.started) is not None for s in sent) < n
    ):
        await asyncio.sleep(0.2)
    e2e = [
        (t - s.started) * 1000 for s in sent if (t := sink.first_after(s.case.email, s.started)) is not None
    ]
    http = [(s.finished - s.started) * 1000 for s in sent]
    delivered = [t for s in sent if (t := sink.first_after(s.case.email, s.started)) is not None]
    span = max(delivered) - min(s.started for s in sent) if delivered else float("nan")
    flagged = sum(s.outcome == "secondary" or s.status == 200 for s in sent)
    cpu = cpu_line(before, cpu_seconds(stack.everything()), n, "verification")
    return [
        f"| {n} | {rate:g}/s | {flagged} | {len(e2e)} | {len(e2e) / span:,.0f}/s | {percentile(e2e, 50):,.0f} | "
        f"{percentile(e2e, 99):,.0f} | {percentile(http, 50):,.0f} | {percentile(http, 99):,.0f} | {n - len(e2e)} |"
        "",
        cpu,
    ]


def run(report: Report) -> None:
    n = int(os.environ.get("BENCH_PIPELINE_N", "1000"))
    rate = float(os.environ.get("BENCH_PIPELINE_RATE", "200"))
    with Stack("pipeline") as stack, SmtpSink() as sink:
        urls = start_everything(stack, smtp_url=sink.url, service_env={"eligibility": ELIGIBILITY_ENV})
        report.rss("pipeline", "idle", {k: stack.services[k] for k in ("eligibility", "notifications")})
        rows = asyncio.run(measure(stack, urls, sink, n, rate))
        report.section(
            "Event pipeline (2)",
            [
                f"Machine: {machine()}",
                "Verification (POST /v1/coverages/{id}/verify, 271 with the secondary flag) to the client's e-mail "
                "accepted by SMTP; every service in its own process with its workers on.",
                "",
                "| verifications | offered rate | answered 200 | e-mails | throughput | e2e p50 ms | e2e p99 ms | "
                "verify p50 ms | verify p99 ms | lost |",
                "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
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
