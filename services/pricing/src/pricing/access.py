"""Object-level checks: clients see themselves, providers the clients they see, ops and partners all."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal, ensure_own_client
from kit.errors import NotFound
from pricing.facts import provider_sees
from pricing.models import sessions


async def ensure_reads_client(db: AsyncSession, principal: Principal, client_id: UUID) -> None:
    """404 unless the caller may read this client's money records."""
    sees = principal.role == "provider" and await provider_sees(db, principal.provider_id, client_id)
    ensure_own_client(principal, client_id, provider_sees=sees)


async def readable_session(db: AsyncSession, principal: Principal, session_id: UUID) -> Any:
    """The session row, or 404 when it does not exist or the caller may not read it."""
    row = (await db.execute(select(sessions).where(sessions.c.session_id == session_id))).first()
    if row is None:
        raise NotFound("No such session.")
    if principal.role == "provider" and principal.provider_id == row.provider_id:
        return row
    try:
        await ensure_reads_client(db, principal, row.client_id)
    except NotFound:
        raise NotFound("No such session.") from None
    return row
