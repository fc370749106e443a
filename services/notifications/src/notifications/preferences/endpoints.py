"""A client's notification preferences: optional reminders may be turned off; required messages always go."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from kit.app import RuntimeDep
from kit.auth import PrincipalDep
from kit.db import DbSession
from notifications.preferences import service
from notifications.preferences.schemas import PreferencesIn, PreferencesOut

router = APIRouter(prefix="/v1/clients/{client_id}/notification-preferences", tags=["notifications"])


@router.get("", response_model=PreferencesOut, summary="A client's notification preferences")
async def get_preferences(
    client_id: uuid.UUID, principal: PrincipalDep, session: DbSession
) -> PreferencesOut:
    return await service.read(session, principal=principal, client_id=client_id)


@router.put("", response_model=PreferencesOut, summary="Turn optional reminders on or off")
async def put_preferences(
    client_id: uuid.UUID,
    body: PreferencesIn,
    principal: PrincipalDep,
    session: DbSession,
    runtime: RuntimeDep,
) -> PreferencesOut:
    return await service.update(
        session, principal=principal, client_id=client_id, reminders=body.reminders, now=runtime.clock.now()
    )
