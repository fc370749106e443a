"""Where a client can be during a session, and the provider-client relationship it starts."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from claims import eligibility_view
from claims.common import provider_sees
from claims.locations import repository
from claims.locations.schemas import ClientLocationIn, ClientLocationOut
from claims.models import ClientLocation
from contracts.events import CareRelationshipStarted
from kit.auth import Principal
from kit.errors import Forbidden, NotFound
from kit.runtime import Runtime


async def start_relationship(
    *, session: AsyncSession, runtime: Runtime, provider_id: uuid.UUID, client_id: uuid.UUID
) -> None:
    """The first time a provider acts for a client, they start seeing them (and everyone is told)."""
    if await repository.insert_relationship(session, provider_id, client_id):
        await runtime.outbox.publish(
            session,
            CareRelationshipStarted(
                provider_id=provider_id, client_id=client_id, started_at=runtime.clock.now()
            ),
        )


def _out(loc: ClientLocation) -> ClientLocationOut:
    return ClientLocationOut(
        id=loc.id,
        client_id=loc.client_id,
        state=loc.state,
        kind=loc.kind,
        address_line=loc.address_line,
        city=loc.city,
        postal_code=loc.postal_code,
        added_by=loc.added_by,
        created_at=loc.created_at,
    )


async def add_location(
    *,
    session: AsyncSession,
    runtime: Runtime,
    principal: Principal,
    client_id: uuid.UUID,
    data: ClientLocationIn,
) -> ClientLocationOut:
    """A client adds their own location; a provider adds one for a client, which starts the relationship."""
    if principal.role == "client":
        if principal.client_id != client_id:
            raise NotFound("No such client.")
    elif principal.role == "provider":
        if not await provider_sees(session, principal.provider_id, client_id):
            raise Forbidden(
                "You do not see this client yet: the client (or ops) adds you to their care team first."
            )
    elif not await repository.client_known(session, client_id) and not await eligibility_view.refresh(
        session, runtime, client_id
    ):
        raise NotFound("No such client.")
    loc = ClientLocation(client_id=client_id, added_by=principal.role, **data.model_dump())
    session.add(loc)
    await session.flush()
    await session.refresh(loc)
    return _out(loc)


async def list_locations(
    *, session: AsyncSession, principal: Principal, client_id: uuid.UUID
) -> list[ClientLocationOut]:
    """A client's locations, for the client, the providers who see them, ops and partners."""
    if principal.role == "client" and principal.client_id != client_id:
        raise NotFound("No such client.")
    if principal.role == "provider" and not await provider_sees(session, principal.provider_id, client_id):
        raise NotFound("No such client.")
    return [_out(x) for x in await repository.for_client(session, client_id)]
