"""Queries of the bulk internal reads."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import Row, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.asyncio import AsyncSession

from eligibility.models import Client

# One statement whatever the number of ids (`= ANY(array)`, not an IN list per count), so PostgreSQL and
# asyncpg keep it prepared.
_CONTACTS = select(Client.id, Client.first_name, Client.last_name, Client.email).where(
    Client.id == any_(bindparam("ids", type_=ARRAY(PG_UUID(as_uuid=True))))
)


async def contacts(
    session: AsyncSession, client_ids: Sequence[UUID]
) -> Sequence[Row[tuple[UUID, str, str, str]]]:
    """The contact columns of the clients among `client_ids` that exist."""
    return (await session.execute(_CONTACTS, {"ids": list(client_ids)})).all()
