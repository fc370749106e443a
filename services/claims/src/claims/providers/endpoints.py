"""HTTP for providers: /v1/providers and /internal/providers/{id}."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Query

from claims.common import ensure_acts_as_provider, ensure_reads_provider
from claims.providers import repository, service
from claims.providers.schemas import (
    AddressIn,
    CredentialIn,
    LicenceIn,
    ProviderIn,
    ProviderInternal,
    ProviderOut,
)
from kit.auth import PrincipalDep, require_role
from kit.db import DbSession
from kit.errors import NotFound, Unprocessable

router = APIRouter(tags=["providers"])


@router.post("/v1/providers", status_code=201, response_model=ProviderOut, summary="Register a provider")
async def create_provider(data: ProviderIn, principal: PrincipalDep, session: DbSession) -> ProviderOut:
    require_role(principal, "provider")
    if principal.role == "provider":
        if data.id is not None and data.id != principal.provider_id:
            raise Unprocessable("A provider registers only themselves.")
        provider_id = principal.provider_id
    else:
        provider_id = data.id or uuid.uuid4()
    if provider_id is None:
        raise Unprocessable("This identity carries no provider id.")
    return await service.create_provider(session=session, data=data, provider_id=provider_id)


@router.get("/v1/providers", response_model=list[ProviderOut], summary="Providers the caller may see")
async def list_providers(
    principal: PrincipalDep,
    session: DbSession,
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=1_000_000),
) -> list[ProviderOut]:
    if principal.is_staff or principal.role == "partner":
        ids = await repository.all_ids(session, limit, offset)
    elif principal.role == "provider" and principal.provider_id is not None and offset == 0:
        ids = [principal.provider_id] if await repository.get(session, principal.provider_id) else []
    else:
        ids = []
    return [await service.read_provider(session=session, provider_id=i) for i in ids]


async def _existing(session: DbSession, provider_id: uuid.UUID) -> None:
    if await repository.get(session, provider_id) is None:
        raise NotFound("No such provider.")


@router.get("/v1/providers/{provider_id}", response_model=ProviderOut, summary="One provider")
async def get_provider(provider_id: uuid.UUID, principal: PrincipalDep, session: DbSession) -> ProviderOut:
    ensure_reads_provider(principal, provider_id)
    await _existing(session, provider_id)
    return await service.read_provider(session=session, provider_id=provider_id)


@router.post("/v1/providers/{provider_id}/licences", status_code=201, response_model=ProviderOut)
async def add_licence(
    provider_id: uuid.UUID, data: LicenceIn, principal: PrincipalDep, session: DbSession
) -> ProviderOut:
    ensure_acts_as_provider(principal, provider_id)
    await _existing(session, provider_id)
    await service.add_details(
        session=session, provider_id=provider_id, locations=[], licences=[data], credentials=[]
    )
    return await service.read_provider(session=session, provider_id=provider_id)


@router.post("/v1/providers/{provider_id}/credentials", status_code=201, response_model=ProviderOut)
async def add_credential(
    provider_id: uuid.UUID, data: CredentialIn, principal: PrincipalDep, session: DbSession
) -> ProviderOut:
    ensure_acts_as_provider(principal, provider_id)
    await _existing(session, provider_id)
    await service.add_details(
        session=session, provider_id=provider_id, locations=[], licences=[], credentials=[data]
    )
    return await service.read_provider(session=session, provider_id=provider_id)


@router.post("/v1/providers/{provider_id}/practice-locations", status_code=201, response_model=ProviderOut)
async def add_practice_location(
    provider_id: uuid.UUID, data: AddressIn, principal: PrincipalDep, session: DbSession
) -> ProviderOut:
    ensure_acts_as_provider(principal, provider_id)
    await _existing(session, provider_id)
    await service.add_details(
        session=session, provider_id=provider_id, locations=[data], licences=[], credentials=[]
    )
    return await service.read_provider(session=session, provider_id=provider_id)


@router.get("/internal/providers/{provider_id}", response_model=ProviderInternal, include_in_schema=False)
async def internal_provider(
    provider_id: uuid.UUID, principal: PrincipalDep, session: DbSession
) -> ProviderInternal:
    require_role(principal, "service")
    provider = await repository.get(session, provider_id)
    if provider is None:
        raise NotFound("No such provider.")
    return ProviderInternal(id=provider.id, name=provider.name, email=provider.email, npi=provider.npi)
