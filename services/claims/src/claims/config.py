"""Settings of the claims service."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from kit.settings import KitSettings


class Settings(KitSettings):
    service_name: str = "claims"
    clearinghouse_url: str = Field(
        default="http://127.0.0.1:8201", description="The clearinghouse that takes 837Ps and returns 835s."
    )
    clock: Literal["system", "controllable"] = Field(
        default="system", description="`controllable` (never in production) enables POST /ops/clock/advance."
    )
    claim_submit_interval_s: float = Field(default=5.0, description="How often pending claims are sent.")
    claim_submit_max_attempts: int = Field(default=8, description="Transport failures before giving up.")
    claim_retry_base_s: float = Field(default=30.0, description="First retry delay; doubles each attempt.")
    remittance_poll_interval_s: float = Field(
        default=60.0, description="How often GET /x12/835 is polled (0 turns polling off)."
    )
    notes_deadline_interval_s: float = Field(
        default=300.0, description="How often overdue notes are checked."
    )
    submitter_id: str = Field(default="PARITY", description="ISA06/GS02 of our 837Ps.")
    billing_tax_id: str = Field(
        default="990000001", description="EIN in 2010AA REF*EI (the platform bills as the group)."
    )
