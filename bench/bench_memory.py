"""Benchmark 6, memory: resident memory of every process of the system started as `make run` starts it, idle.
The other benchmarks add the same figure for the processes they load, before and after their load.
`python -m bench.bench_memory`"""

from __future__ import annotations

import time

from bench.harness import Report, Stack, machine
from bench.targets import SERVICES, start_everything


def run(report: Report) -> None:
    with Stack("memory") as stack:
        start_everything(stack)
        time.sleep(5)  # let consumers join their groups and periodic jobs run once
        report.section("Memory, idle (6)", [f"Machine: {machine()}", "Every service with its workers on."])
        report.rss(
            "idle system", "idle", {k: v for k, v in stack.services.items() if k in (*SERVICES, "gateway")}
        )


def main() -> None:
    report = Report()
    run(report)
    print("\n" + "\n".join(report.memory_table()))


if __name__ == "__main__":
    main()
