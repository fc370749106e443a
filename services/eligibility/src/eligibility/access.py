"""Object-level access to a client's records: who may read or change what."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from eligibility.models import CareRelationship
from kit.auth import Principal, ensure_own_client
from kit.errors import Forbidden, NotFound


async def provider_sees(session: AsyncSession, provider_id: UUID | None, client_id: UUID) -> bool:
    if provider_id is None:
        return False
    row = await session.scalar(
        select(CareRelationship.client_id).where(
            CareRelationship.provider_id == provider_id, CareRelationship.client_id == client_id
        )
    )
    return row is not None


async def ensure_read(session: AsyncSession, principal: Principal, client_id: UUID) -> None:
    """Clients read their own records, providers those of clients they see, ops/partners everything;
    anyone else gets 404 so existence does not leak."""
    sees = principal.role == "provider" and await provider_sees(session, principal.provider_id, client_id)
    ensure_own_client(principal, client_id, provider_sees=sees)


async def ensure_client_write(session: AsyncSession, principal: Principal, client_id: UUID) -> None:
    """Only the client themselves (or ops) change a client's insurance and COB records."""
    if principal.is_staff or principal.role == "ops":
        return
    if principal.role == "client" and principal.client_id == client_id:
        return
    if principal.role == "provider" and await provider_sees(session, principal.provider_id, client_id):
        raise Forbidden(
            "Only the client (or ops, on the insurer's word) can change this; no action is needed from providers."
        )
    if principal.role == "partner":
        raise Forbidden("Partners have read-only access.")
    raise NotFound("No such client.")
