"""Settings of the pricing service."""

from __future__ import annotations

from pydantic import Field

from kit.settings import KitSettings


class Settings(KitSettings):
    service_name: str = "pricing"
    card_processor_url: str = Field(
        default="http://127.0.0.1:8202", description="Base URL of the card processor (Stripe-like API)."
    )
    card_processor_timeout_s: float = Field(default=5.0, description="How long a charge or refund may take.")
    refund_job_interval_s: float = Field(default=2.0, description="How often staged refunds are sent.")
    repricing_chunk_clients: int = Field(
        default=500, description="Clients re-priced per transaction in a plan-wide re-pricing."
    )
    repricing_concurrency: int = Field(
        default=2,
        ge=1,
        description="Chunks of a plan-wide re-pricing in flight at once (one connection each).",
    )
