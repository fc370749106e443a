"""Eligibility's internal API: the patient and subscriber details an 837P needs (never logged)."""

from __future__ import annotations

import uuid
from datetime import date

import httpx
from pydantic import BaseModel

from kit.runtime import Runtime


class ClientDetails(BaseModel):
    id: uuid.UUID
    first_name: str
    last_name: str
    date_of_birth: date


class Subscriber(BaseModel):
    first_name: str
    last_name: str
    date_of_birth: date
    relationship: str


class CoverageDetails(BaseModel):
    id: uuid.UUID
    client_id: uuid.UUID
    payer_id: str
    member_id: str
    group_number: str | None = None
    subscriber: Subscriber


class EligibilityUnavailable(Exception):
    """Eligibility did not answer usefully; the submission is retried later."""


async def _get(runtime: Runtime, path: str) -> dict[str, object]:
    url = runtime.settings.eligibility_url.rstrip("/") + path
    try:
        response = await runtime.http.get(url)
    except httpx.HTTPError as exc:
        raise EligibilityUnavailable(f"eligibility unreachable: {type(exc).__name__}") from exc
    if response.status_code != 200:
        raise EligibilityUnavailable(f"eligibility answered {response.status_code} for {path.split('/')[2]}")
    data: dict[str, object] = response.json()
    return data


async def client_details(runtime: Runtime, client_id: uuid.UUID) -> ClientDetails:
    return ClientDetails.model_validate(await _get(runtime, f"/internal/clients/{client_id}"))


async def coverage_details(runtime: Runtime, coverage_id: uuid.UUID) -> CoverageDetails:
    return CoverageDetails.model_validate(await _get(runtime, f"/internal/coverages/{coverage_id}"))
