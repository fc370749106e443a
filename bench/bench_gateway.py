"""Benchmark 1, gateway overhead: the same read endpoint directly, through the gateway and through nginx,
at 1, 16 and 64 connections, wrk in its own process. `python -m bench.bench_gateway`

BENCH_SECONDS (default 5) per measurement; BENCH_GATEWAY_CLIENTS (default "shipped") lists the gateways to
compare in the same run: "shipped" is the gateway package of this tree, "git:<ref>" the gateway package as it
was at that commit (e.g. "shipped,git:main"), run against the same kit, service and load.

Besides wrk's figures each row has the CPU time per request of the proxy (nginx or gateway, with its worker
processes) and of the service: on a shared machine req/s swings with everyone else's load, CPU time much less."""

from __future__ import annotations

import os
import subprocess
import tarfile
from io import BytesIO

import httpx

from bench.harness import ROOT, Load, Managed, Report, Stack, cpu_seconds, machine, wrk
from bench.targets import IDENTITY, bearer, gateway_env, prepare_database, start_read_service

CONNECTIONS = (1, 16, 64)
PATH = "/v1/payers"


def measure(
    url: str, headers: dict[str, str], connections: int, seconds: float, processes: dict[str, Managed]
) -> tuple[Load, dict[str, float]]:
    """wrk's figures and the CPU microseconds per request each of `processes` spent during the timed run
    (CPU time does not swing with the machine's load the way req/s does)."""
    wrk(url, connections=connections, duration_s=1, headers=headers)  # warm up connections and caches
    before = cpu_seconds(processes)
    load = wrk(url, connections=connections, duration_s=seconds, headers=headers)
    after = cpu_seconds(processes)
    return load, {k: 1e6 * (after[k] - before[k]) / max(1, load.requests) for k in processes}


def row(name: str, c: int, load: Load, cpu: dict[str, float], proxy: str | None, service: str) -> str:
    proxy_us = f"{cpu[proxy]:,.0f}" if proxy else "-"
    return (
        f"| {name} | {c} | {load.rps:,.0f} | {load.p50_ms:.2f} | {load.p99_ms:.2f} | {load.errors} "
        f"| {proxy_us} | {cpu[service]:,.0f} |"
    )


def gateway_at(ref: str, stack: Stack) -> dict[str, str]:
    """The environment that makes a gateway process import the gateway package as it was at `ref` (with this
    tree's kit, and so its server)."""
    archive = subprocess.run(
        ["git", "archive", ref, "gateway/src"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    into = stack.workdir / f"gateway-{ref.replace('/', '_')}"
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    src = into / "gateway" / "src"
    return {"PYTHONPATH": os.pathsep.join([str(src), stack.env["PYTHONPATH"]])}


def run(report: Report) -> None:
    seconds = float(os.environ.get("BENCH_SECONDS", "5"))
    variants = os.environ.get("BENCH_GATEWAY_CLIENTS", "shipped").split(",")
    with Stack("gateway") as stack:
        stack.start_postgres()
        stack.start_broker()
        prepare_database(stack, ("eligibility", "gateway"))
        service, direct = start_read_service(stack)
        token = bearer(stack)
        gateways = {}
        for variant in variants:
            env = gateway_env(stack, direct)
            if variant.startswith("git:"):
                env |= gateway_at(variant.removeprefix("git:"), stack)
            elif variant != "shipped":
                raise ValueError(f"unknown gateway {variant!r} in BENCH_GATEWAY_CLIENTS (shipped, git:<ref>)")
            gateways[variant] = stack.spawn(f"gateway[{variant}]", "gateway.main:create_app", env=env)
        nginx = stack.start_nginx(direct)
        for variant, url in gateways.items():
            probe = httpx.get(url + PATH, headers=token, timeout=5)
            if probe.status_code != 200:
                raise RuntimeError(f"gateway[{variant}] answered {probe.status_code}: {probe.text[:300]}")
        report.rss("gateway", "idle", stack.services)

        def procs(*names: str) -> dict[str, Managed]:
            return {n: stack.services[n] for n in names}

        lines = [
            f"Machine: {machine()}",
            f"Endpoint: GET {PATH} of {service}; {seconds:g} s per point; wrk -t1 in its own process.",
            "CPU µs/req: CPU time (user + system) of the proxy and of the service during the timed run, per request.",
            "",
            "| target | connections | req/s | p50 ms | p99 ms | errors | proxy CPU µs/req | service CPU µs/req |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        ratios = [
            "",
            "| gateway | connections | gateway/direct req/s | gateway/nginx req/s | p50 overhead ms |",
        ]
        ratios.append("|---|---:|---:|---:|---:|")
        for c in CONNECTIONS:
            d, cpu = measure(direct + PATH, IDENTITY, c, seconds, procs(service))
            lines.append(row("direct", c, d, cpu, None, service))
            n, cpu = measure(nginx + PATH, IDENTITY, c, seconds, procs(service, "nginx"))
            lines.append(row("nginx", c, n, cpu, "nginx", service))
            for variant, url in gateways.items():
                name = f"gateway[{variant}]"
                g, cpu = measure(url + PATH, token, c, seconds, procs(service, name))
                lines.append(row(f"gateway ({variant})", c, g, cpu, name, service))
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
