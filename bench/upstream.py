"""A stand-in read service for the gateway benchmark while eligibility's `GET /v1/payers` is not there yet:
the same kit app (middleware, error handlers, identity check) serving the payer catalogue from memory.
`uvicorn --factory bench.upstream:create_app`"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI

from contracts.payers import CATALOGUE
from kit.app import create_service_app
from kit.auth import PrincipalDep
from kit.runtime import MessagingTables, Runtime
from kit.settings import KitSettings

router = APIRouter()


@router.get("/v1/payers")
async def list_payers(principal: PrincipalDep) -> list[dict[str, Any]]:
    return [p.model_dump() for p in CATALOGUE]


def create_app() -> FastAPI:
    from kit.db import make_base

    tables = MessagingTables(make_base("benchupstream").metadata)
    settings = KitSettings(
        service_name="bench-upstream", run_relay=False, run_consumers=False, run_scheduler=False
    )
    return create_service_app(
        service_name="bench-upstream",
        title="Bench upstream",
        description="payer catalogue",
        runtime_factory=lambda: Runtime.build(settings, tables),
        routers=[router],
    )
