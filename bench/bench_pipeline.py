"""Benchmark 2, event pipeline: N verifications that come back with the secondary flag, sent at a fixed rate,
from the request to the e-mail accepted by SMTP (eligibility -> coverage.flagged_secondary / cob.case_opened ->
notifications -> SMTP). `python -m bench.bench_pipeline`; BENCH_PIPELINE_N (default 500), BENCH_PIPELINE_RATES
(default "200,25": one run per rate, each with its own stack)."""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter

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
    acked = [s for s in sent if s.status == 200]
    mailed = {id(s): t for s in sent if (t := sink.first_after(s.case.email, s.started)) is not None}
    e2e = [(mailed[id(s)] - s.started) * 1000 for s in acked if id(s) in mailed]
    http = [(s.finished - s.started) * 1000 for s in sent]
    # From eligibility's answer to the e-mail: the event pipeline alone (relay, broker, consumer, sender, SMTP).
    after = [(mailed[id(s)] - s.finished) * 1000 for s in acked if id(s) in mailed]
    span = max(mailed.values()) - min(s.started for s in sent) if mailed else float("nan")
    refused = Counter(f"{s.status} {s.outcome}" for s in sent if s.status != 200)
    spent = cpu_seconds(stack.everything())
    cpu = cpu_line(before, spent, n, "verification")
    per_email = cpu_line(before, spent, len(mailed), "e-mail") if mailed else ""
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
    ]


def run(report: Report) -> None:
    n = int(os.environ.get("BENCH_PIPELINE_N", "500"))
    rates = [float(r) for r in os.environ.get("BENCH_PIPELINE_RATES", "200,25").split(",")]
    for rate in rates:
        run_at(report, n, rate)


def run_at(report: Report, n: int, rate: float) -> None:
    with Stack("pipeline") as stack, SmtpSink() as sink:
        urls = start_everything(stack, smtp_url=sink.url, service_env={"eligibility": ELIGIBILITY_ENV})
        report.rss("pipeline", "idle", {k: stack.services[k] for k in ("eligibility", "notifications")})
        rows = asyncio.run(measure(stack, urls, sink, n, rate))
        report.section(
            f"Event pipeline (2), {rate:g}/s offered",
            [
                f"Machine: {machine()}",
                "Verification (POST /v1/coverages/{id}/verify, 271 with the secondary flag) to the client's e-mail "
                "accepted by SMTP; every service in its own process with its workers on.",
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
