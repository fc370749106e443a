"""The payer catalogue (reference data every service shares)."""

from __future__ import annotations

from fastapi import APIRouter

from contracts.payers import CATALOGUE, Payer, payer
from kit.auth import PrincipalDep
from kit.errors import NotFound

router = APIRouter(tags=["payers"])


@router.get(
    "/v1/payers", response_model=list[Payer], summary="Payers, with BCBS service areas and id prefixes"
)
async def list_payers(principal: PrincipalDep) -> list[Payer]:
    return list(CATALOGUE)


@router.get("/v1/payers/{payer_id}", response_model=Payer, summary="One payer")
async def get_payer(payer_id: str, principal: PrincipalDep) -> Payer:
    found = payer(payer_id)
    if found is None:
        raise NotFound("No such payer.")
    return found
