"""Settings of the eligibility service."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from kit.settings import KitSettings


class Settings(KitSettings):
    service_name: str = "eligibility"

    clearinghouse_url: str = Field(
        default="http://127.0.0.1:8201", description="The clearinghouse that answers 270s with 271s."
    )
    clearinghouse_timeout_s: float = Field(default=10.0, description="How long one 270 may take.")
    clearinghouse_max_connections: int = Field(
        default=1000, description="Concurrent 270s in flight (a slow clearinghouse must not serialise us)."
    )
    verification_db_slots: int | None = Field(
        default=None,
        description="Verifications holding a database connection at once (the rest wait their turn, never "
        "for the pool's timeout); defaults to the pool size, leaving the overflow to the API, relay and jobs.",
    )
    x12_sender_id: str = "PARITY"
    x12_receiver_id: str = "CLEARINGHOUSE"
    receiver_name: str = Field(default="PARITY HEALTH", description="Information receiver on the 270.")
    receiver_npi: str = Field(default="1234567893", description="Our NPI on the 270 (loop 2100B).")

    reverify_after_days: int = Field(default=30, description="A verified coverage is checked again monthly.")
    retry_base_s: float = Field(default=300.0, description="First retry after a failed verification.")
    retry_max_s: float = Field(default=6 * 3600.0, description="Longest wait between retries.")
    cob_follow_up_days: int = Field(default=7, description="The follow-up with the insurer after notice.")
    cob_recertify_days: int = Field(default=365, description="COB is re-certified yearly.")
    cob_reminder_days: int = Field(default=30, description="Reminder this many days before it lapses.")
    verification_batch: int = Field(default=200, description="Coverages one scheduled run verifies.")
    job_interval_s: float = Field(default=60.0, description="How often the periodic jobs run.")


def settings_of(runtime: Any) -> Settings:
    """The runtime's settings, typed as this service's."""
    settings: Settings = runtime.settings
    return settings
