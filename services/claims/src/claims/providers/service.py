"""Provider records: identity, licences, credentials, practice locations."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from claims.models import Credential, Licence, PracticeLocation, Provider
from claims.providers import repository
from claims.providers.schemas import (
    AddressIn,
    AddressOut,
    CredentialIn,
    CredentialOut,
    LicenceIn,
    LicenceOut,
    ProviderIn,
    ProviderOut,
)
from contracts.payers import payer
from kit.errors import Conflict, Unprocessable


def _check_credentials(creds: list[CredentialIn]) -> None:
    problems = []
    for c in creds:
        p = payer(c.payer_id)
        if p is None:
            problems.append(f"{c.payer_id} is not a payer in our catalogue.")
        elif c.network == "virtual" and p.kind != "bcbs":
            problems.append(f"{p.name} is not a BCBS plan; only BCBS plans have virtual networks.")
        elif c.network == "virtual" and c.state in p.home_states:
            problems.append(f"{p.name}'s virtual network is for states outside its home area, not {c.state}.")
    if problems:
        raise Unprocessable("Some credentials are not valid.", reasons=problems)


async def create_provider(*, session: AsyncSession, data: ProviderIn, provider_id: uuid.UUID) -> ProviderOut:
    """Register a provider; an NPI belongs to one provider only."""
    if await repository.get(session, provider_id) is not None:
        raise Conflict("This provider is already registered.")
    if await repository.by_npi(session, data.npi) is not None:
        raise Conflict("Another provider is registered with this NPI.")
    _check_credentials(data.credentials)
    session.add(Provider(id=provider_id, npi=data.npi, name=data.name, email=data.email))
    await session.flush()
    await add_details(
        session=session,
        provider_id=provider_id,
        locations=data.practice_locations,
        licences=data.licences,
        credentials=data.credentials,
    )
    return await read_provider(session=session, provider_id=provider_id)


async def add_details(
    *,
    session: AsyncSession,
    provider_id: uuid.UUID,
    locations: list[AddressIn],
    licences: list[LicenceIn],
    credentials: list[CredentialIn],
) -> None:
    """Add practice locations, licences and credentials (a credential already held is not duplicated)."""
    _check_credentials(credentials)
    for loc in locations:
        session.add(PracticeLocation(provider_id=provider_id, **loc.model_dump()))
    for lic in licences:
        session.add(Licence(provider_id=provider_id, **lic.model_dump()))
    held = {(c.payer_id, c.state, c.network) for c in await repository.credentials(session, provider_id)}
    for cred in credentials:
        if (cred.payer_id, cred.state, cred.network) not in held:
            held.add((cred.payer_id, cred.state, cred.network))
            session.add(Credential(provider_id=provider_id, **cred.model_dump()))
    await session.flush()


async def read_provider(*, session: AsyncSession, provider_id: uuid.UUID) -> ProviderOut:
    provider = await repository.get(session, provider_id)
    assert provider is not None
    return ProviderOut(
        id=provider.id,
        npi=provider.npi,
        name=provider.name,
        email=provider.email,
        practice_locations=[
            AddressOut(
                id=x.id, state=x.state, address_line=x.address_line, city=x.city, postal_code=x.postal_code
            )
            for x in await repository.practice_locations(session, provider_id)
        ],
        licences=[
            LicenceOut(id=x.id, state=x.state, type=x.type, number=x.number, expires_on=x.expires_on)
            for x in await repository.licences(session, provider_id)
        ],
        credentials=[
            CredentialOut(id=x.id, payer_id=x.payer_id, state=x.state, network=x.network)
            for x in await repository.credentials(session, provider_id)
        ],
    )
