"""Reading and changing a client's optional-message preferences."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal, ensure_own_client, require_role
from notifications.delivery.plan import OPTIONAL_TEMPLATES
from notifications.preferences import repository
from notifications.preferences.schemas import PreferencesOut


def _out(client_id: uuid.UUID, reminders: bool) -> PreferencesOut:
    by_category: dict[str, list[str]] = {}
    for template, category in OPTIONAL_TEMPLATES.items():
        by_category.setdefault(category, []).append(template)
    return PreferencesOut(client_id=client_id, reminders=reminders, optional_templates=by_category)


async def read(session: AsyncSession, *, principal: Principal, client_id: uuid.UUID) -> PreferencesOut:
    """The client's own preferences (everyone starts opted in); other clients and providers get 404."""
    ensure_own_client(principal, client_id)
    pref = await repository.get(session, client_id)
    return _out(client_id, True if pref is None else pref.reminders)


async def update(
    session: AsyncSession, *, principal: Principal, client_id: uuid.UUID, reminders: bool, now: datetime
) -> PreferencesOut:
    """Only the client (or ops) may change them; required messages are not affected."""
    ensure_own_client(principal, client_id)
    require_role(principal, "client")
    await repository.upsert(session, client_id=client_id, reminders=reminders, now=now)
    return _out(client_id, reminders)
