"""Every public endpoint, fuzzed through the gateway with schemathesis: no 5xx, every status code, content
type, header and body matches the documented schema, auth is never ignored, undocumented methods get 405 with
an exact Allow. Bounded: a few examples per operation.

Two checks are left out on purpose: `positive_data_acceptance` and `negative_data_rejection` expect the API to
accept exactly what JSON Schema can describe. Our edge validates more than JSON Schema can say (an NPI's check
digit, a billable ICD-10-CM code, a USPS state, a payer in the catalogue, a client that exists) and refuses it
with 422 problem+json, and it parses some types leniently (a "true" for a boolean)."""

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
            "--checks",
            "all",
            "--exclude-checks",
            "positive_data_acceptance,negative_data_rejection,use_after_free,ensure_resource_availability",
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
