"""Registering clients and keeping their account status and scheduling clearance current."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import ClientRegistered, ClientStatusChanged
from eligibility.clients import repository
from eligibility.clients.status import ClientFacts, client_status
from eligibility.models import Client
from kit.errors import Conflict
from kit.runtime import Runtime


async def register(
    *, session: AsyncSession, runtime: Runtime, client_id: uuid.UUID, data: dict[str, Any]
) -> Client:
    """A new client account: active, and cleared for scheduling only when self-pay."""
    if await repository.get(session, client_id) is not None:
        raise Conflict("This client is already registered.")
    now = runtime.clock.now()
    self_pay = bool(data.get("self_pay"))
    status = client_status(
        ClientFacts(
            self_pay=self_pay,
            insurance_ineligible=False,
            open_cob_case=False,
            coverage_status=None,
            coverage_reason=None,
        )
    )
    client = Client(
        id=client_id,
        first_name=data["first_name"],
        last_name=data["last_name"],
        date_of_birth=data["date_of_birth"],
        email=data["email"],
        home_state=data["home_state"],
        self_pay=self_pay,
        insurance_ineligible=False,
        account_status=status.account_status,
        cleared_for_scheduling=status.cleared_for_scheduling,
        status_reason_code=status.reason_code,
        status_reason=status.reason,
        created_at=now,
        updated_at=now,
    )
    session.add(client)
    await session.flush()
    await runtime.outbox.publish(
        session, ClientRegistered(client_id=client.id, home_state=client.home_state, registered_at=now)
    )
    return client


async def refresh_status(*, session: AsyncSession, runtime: Runtime, client: Client) -> bool:
    """Re-derive the account status and clearance; publishes client.status_changed when either moved."""
    await session.flush()
    coverage = await repository.current_coverage(session, client.id)
    case = await repository.open_case(session, client.id)
    status = client_status(
        ClientFacts(
            self_pay=client.self_pay,
            insurance_ineligible=client.insurance_ineligible,
            open_cob_case=case is not None,
            coverage_status=coverage.status if coverage else None,
            coverage_reason=coverage.status_reason if coverage else None,
        )
    )
    previous = (client.account_status, client.cleared_for_scheduling)
    client.status_reason_code = status.reason_code
    client.status_reason = status.reason
    if previous == (status.account_status, status.cleared_for_scheduling):
        return False
    now = runtime.clock.now()
    client.account_status = status.account_status
    client.cleared_for_scheduling = status.cleared_for_scheduling
    client.updated_at = now
    await runtime.outbox.publish(
        session,
        ClientStatusChanged(
            client_id=client.id,
            account_status=status.account_status,
            cleared_for_scheduling=status.cleared_for_scheduling,
            reason_code=status.reason_code,
            previous_account_status=previous[0],
            previous_cleared_for_scheduling=previous[1],
            changed_at=now,
        ),
    )
    return True
