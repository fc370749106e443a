"""Benchmark 4, verification fan-out: 1,000 verifications against a clearinghouse sandbox that answers each 270
after 200 ms. Offered all at once (open loop at BENCH_FANOUT_RATE, default 2000/s), so the figure is how far
eligibility overlaps calls to a slow partner. `python -m bench.bench_fanout`; BENCH_FANOUT_N (default 1000).

Each verification has a kept-open connection, opened before the clock starts (BENCH_FANOUT_WARM, default N;
0 opens them on demand inside the measurement): eligibility's callers are the gateway's pooled keep-alive
connections, so a TCP handshake per verification, on both sides of it, is not what a verification costs.
BENCH_FANOUT_API_PROCESSES=N runs eligibility as deploy/k8s does: N API processes with the relay and jobs off,
and a process for those (0, the default: one process for everything).

It measures eligibility: the service, its relay, PostgreSQL, the broker and the clearinghouse sandbox run; the
services that consume its events (claims, pricing, notifications) are not started, because on this 2-core
machine they would take the CPU the measured service needs (in production they run on their own pods; the
event pipeline benchmark runs them all). BENCH_FANOUT_ALL=1 starts them too."""

from __future__ import annotations

import os
from collections import Counter

import uvloop

from bench.eligibility_load import make_cases, verify_open_loop
from bench.harness import Report, Stack, cpu_line, cpu_seconds, machine, own_cpu_seconds, percentile
from bench.targets import SERVICES, start_everything

DELAY_S = 0.2


async def measure(stack: Stack, urls: dict[str, str], n: int, rate: float) -> list[str]:
    member = {"status": "active", "delay_seconds": DELAY_S}
    cases = await make_cases(urls["eligibility"], urls["clearinghouse"], n, member=member, tag="FAN")
    before: dict[str, float] = {}

    def ready() -> None:
        print(f"offering {n} verifications", flush=True)  # the mark to attach a sampling profiler at
        before.update({**cpu_seconds(stack.everything()), "bench driver": own_cpu_seconds()})

    warm = int(os.environ.get("BENCH_FANOUT_WARM", str(n)))
    sent = await verify_open_loop(urls["eligibility"], cases, rate, warm=warm, ready=ready)
    span = max(s.finished for s in sent) - min(s.started for s in sent)
    latency = [(s.finished - s.started) * 1000 for s in sent]
    ok = sum(s.status == 200 for s in sent)
    outcomes = Counter(f"{s.status} {s.outcome}" for s in sent)
    after = {**cpu_seconds(stack.everything()), "bench driver": own_cpu_seconds()}
    cpu = cpu_line(before, {k: after.get(k, before[k]) for k in before}, n, "verification")
    total = sum(after.get(k, v) - v for k, v in before.items())
    return [
        f"| {n} | {DELAY_S * 1000:.0f} ms | {ok / span:,.0f}/s | {percentile(latency, 50):,.0f} | "
        f"{percentile(latency, 99):,.0f} | {', '.join(f'{k}: {v}' for k, v in outcomes.most_common())} |",
        "",
        cpu,
        f"All of it: {1000 * total / n:.1f} CPU ms per verification, {total / span:.2f} cores busy on average "
        f"over the {span:.1f} s span; load average after {', '.join(f'{x:.1f}' for x in os.getloadavg())}",
    ]


def run(report: Report) -> None:
    n = int(os.environ.get("BENCH_FANOUT_N", "1000"))
    rate = float(os.environ.get("BENCH_FANOUT_RATE", "2000"))
    with Stack("fanout") as stack:
        everything = os.environ.get("BENCH_FANOUT_ALL") == "1"
        urls = start_everything(
            stack,
            service_env={"eligibility": {"JOB_INTERVAL_S": "3600"}},
            services=SERVICES if everything else ("eligibility",),
            api_processes={"eligibility": int(os.environ.get("BENCH_FANOUT_API_PROCESSES", "0"))},
        )
        report.rss("fan-out", "idle", {"eligibility": stack.services["eligibility"]})
        rows = uvloop.run(
            measure(stack, urls, n, rate)
        )  # the driver as light as it can be: uvloop, as the services
        report.section(
            "Verification fan-out (4)",
            [
                f"Machine: {machine()}",
                "POST /v1/coverages/{id}/verify, all offered at once; the sandbox answers every 270 after 200 ms. "
                + ("Every service runs." if everything else "Eligibility runs; its consumers do not."),
                "",
                "| verifications | partner latency | answered 200 per second | p50 ms | p99 ms | answers |",
                "|---:|---:|---:|---:|---:|---|",
                *rows,
            ],
        )
        report.rss("fan-out", "after load", {"eligibility": stack.services["eligibility"]})


def main() -> None:
    report = Report()
    run(report)
    print("\n" + "\n".join(report.memory_table()))


if __name__ == "__main__":
    main()
