"""`make bench`: every benchmark in turn, then a summary with every memory figure. Figures only, never
pass/fail: a benchmark that cannot run says why and the others go on."""

from __future__ import annotations

import os
import subprocess
import sys
import traceback
from collections.abc import Callable

from bench import bench_gateway, bench_memory, bench_relay
from bench.harness import ROOT, Report, machine


def repricing(report: Report) -> None:
    """The pricing engineer's benchmark (5), in its own process as it is written to run."""
    clients = os.environ.get("BENCH_REPRICING_CLIENTS", "10000")
    out = subprocess.run(
        [sys.executable, "-m", "bench.bench_repricing", clients], cwd=ROOT, capture_output=True, text=True
    )
    lines = [line for line in out.stdout.splitlines() if line.strip()]
    report.section("Re-pricing (5)", lines or [f"exited {out.returncode}: {out.stderr[-2000:]}"])


def optional(module: str) -> Callable[[Report], None] | None:
    try:
        return getattr(__import__(f"bench.{module}", fromlist=["run"]), "run")  # noqa: B009
    except ImportError:
        return None


def main() -> None:
    report = Report()
    print(f"Machine: {machine()}", flush=True)
    benchmarks: list[tuple[str, Callable[[Report], None] | None]] = [
        ("memory (6), idle", bench_memory.run),
        ("gateway overhead (1)", bench_gateway.run),
        ("outbox relay (3)", bench_relay.run),
        ("event pipeline (2)", optional("bench_pipeline")),
        ("verification fan-out (4)", optional("bench_fanout")),
        ("re-pricing (5)", repricing),
    ]
    for name, run in benchmarks:
        if run is None:
            report.section(name, ["not available"])
            continue
        try:
            run(report)
        except Exception:
            report.section(name, ["could not run:", traceback.format_exc()[-3000:]])
    print("\n## Memory (6): resident memory of each process\n")
    print("\n".join(report.memory_table()))


if __name__ == "__main__":
    main()
