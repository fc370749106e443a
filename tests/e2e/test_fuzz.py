"""Every public endpoint, fuzzed through the gateway with schemathesis' default checks: no 5xx, and every
response matches the documented schema. Bounded: a few examples per operation."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from tests.e2e.conftest import System

MAX_EXAMPLES = "8"


async def test_schemathesis_finds_no_server_errors_or_undocumented_responses(system: System) -> None:
    token = await system.token("ops")
    report = system.log_dir / "schemathesis"
    result = await asyncio.to_thread(
        subprocess.run,
        [
            str(Path(sys.executable).parent / "schemathesis"),
            "run",
            f"{system.url}/openapi.json",
            "--header",
            f"Authorization: Bearer {token}",
            "--max-examples",
            MAX_EXAMPLES,
            "--phases",
            "examples,coverage,fuzzing",
            "--seed",
            "20261122",
            "--generation-deterministic",
            "--request-timeout",
            "20",
            "--workers",
            "2",
            "--no-color",
            "--report-dir",
            str(report),
        ],
        capture_output=True,
        text=True,
        timeout=420,
    )
    summary = result.stdout[-6000:]
    assert result.returncode == 0, summary
