"""Benchmark 1, gateway overhead: the same read endpoint directly, through the gateway and through nginx,
at 1, 16 and 64 connections, wrk in its own process. `python -m bench.bench_gateway`

BENCH_SECONDS (default 5) per measurement; BENCH_GATEWAY_CLIENTS (default "shipped,httpx") lists gateway
upstream clients to compare, e.g. "shipped,httpx,httpx-pool-64,aiohttp" (see bench/gateway_variant.py)."""

from __future__ import annotations

import os

import httpx

from bench.harness import Load, Report, Stack, machine, wrk
from bench.targets import IDENTITY, bearer, gateway_env, prepare_database, start_read_service

CONNECTIONS = (1, 16, 64)
PATH = "/v1/payers"


def measure(url: str, headers: dict[str, str], connections: int, seconds: float) -> Load:
    wrk(url, connections=connections, duration_s=1, headers=headers)  # warm up connections and caches
    return wrk(url, connections=connections, duration_s=seconds, headers=headers)


def row(name: str, c: int, load: Load) -> str:
    return f"| {name} | {c} | {load.rps:,.0f} | {load.p50_ms:.2f} | {load.p99_ms:.2f} | {load.errors} |"


def run(report: Report) -> None:
    seconds = float(os.environ.get("BENCH_SECONDS", "5"))
    variants = os.environ.get("BENCH_GATEWAY_CLIENTS", "shipped,httpx").split(",")
    with Stack("gateway") as stack:
        stack.start_postgres()
        stack.start_broker()
        prepare_database(stack, ("eligibility", "gateway"))
        service, direct = start_read_service(stack)
        token = bearer(stack)
        gateways = {}
        for variant in variants:
            env = {**gateway_env(stack, direct), "BENCH_GATEWAY_CLIENT": variant}
            gateways[variant] = stack.spawn(
                f"gateway[{variant}]", "bench.gateway_variant:create_app", env=env
            )
        nginx = stack.start_nginx(direct)
        for variant, url in gateways.items():
            probe = httpx.get(url + PATH, headers=token, timeout=5)
            if probe.status_code != 200:
                raise RuntimeError(f"gateway[{variant}] answered {probe.status_code}: {probe.text[:300]}")
        report.rss("gateway", "idle", stack.services)

        lines = [
            f"Machine: {machine()}",
            f"Endpoint: GET {PATH} of {service}; {seconds:g} s per point; wrk -t1 in its own process.",
            "",
            "| target | connections | req/s | p50 ms | p99 ms | errors |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        ratios = [
            "",
            "| gateway client | connections | gateway/direct req/s | gateway/nginx req/s | p50 overhead ms |",
        ]
        ratios.append("|---|---:|---:|---:|---:|")
        for c in CONNECTIONS:
            d = measure(direct + PATH, IDENTITY, c, seconds)
            n = measure(nginx + PATH, IDENTITY, c, seconds)
            lines += [row("direct", c, d), row("nginx", c, n)]
            for variant, url in gateways.items():
                g = measure(url + PATH, token, c, seconds)
                lines.append(row(f"gateway ({variant})", c, g))
                ratios.append(
                    f"| {variant} | {c} | {g.rps / d.rps:.2f} | {g.rps / n.rps:.2f} | {g.p50_ms - d.p50_ms:+.2f} |"
                )
        report.section("Gateway overhead (1)", lines + ratios)
        report.rss("gateway", "after load", stack.services)


def main() -> None:
    report = Report()
    run(report)
    print("\n" + "\n".join(report.memory_table()))


if __name__ == "__main__":
    main()
