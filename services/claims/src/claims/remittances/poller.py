"""Polling the clearinghouse's 835 feed, for when its pushes do not reach us."""

from __future__ import annotations

import logging
from typing import cast

import httpx
from sqlalchemy.dialects.postgresql import insert

from claims.config import Settings
from claims.models import PollCursor
from claims.remittances.service import post_remittance
from claims.x12_835 import RemittanceUnreadable
from kit.runtime import Runtime

log = logging.getLogger("claims.remittances")
CURSOR = "clearinghouse-835"


async def poll_remittances(runtime: Runtime) -> int:
    """Post every 835 the clearinghouse produced since the last poll; returns how many were read."""
    settings = cast(Settings, runtime.settings)
    async with runtime.db.session() as session:
        cursor = await session.get(PollCursor, CURSOR)
        since = int(cursor.value) if cursor else 0
    try:
        response = await runtime.http.get(
            settings.clearinghouse_url.rstrip("/") + "/x12/835", params={"since": since}
        )
        response.raise_for_status()
        body = response.json()
        items = body["remittances"]
        latest = int(body.get("next", since))
    except (httpx.HTTPError, KeyError, ValueError, TypeError) as exc:
        log.warning("835 poll failed", extra={"error": type(exc).__name__})
        return 0
    if latest < since:
        # The feed's sequence is behind our cursor: it was reset (a restarted clearinghouse sandbox, a new
        # feed). Read it again from the start; posting an 835 already posted changes nothing.
        log.warning("835 feed restarted below our cursor; reading it from the start", extra={"cursor": since})
        async with runtime.db.session() as session:
            await session.execute(
                insert(PollCursor)
                .values(name=CURSOR, value="0")
                .on_conflict_do_update(index_elements=[PollCursor.name], set_={"value": "0"})
            )
        return 0
    for item in items:
        async with runtime.db.session() as session:
            try:
                await post_remittance(
                    session=session, runtime=runtime, text=item["x12"], source="clearinghouse"
                )
            except RemittanceUnreadable:
                log.error("unreadable 835 from the clearinghouse", extra={"seq": item["seq"]})
            stmt = insert(PollCursor).values(name=CURSOR, value=str(item["seq"]))
            await session.execute(
                stmt.on_conflict_do_update(
                    index_elements=[PollCursor.name], set_={"value": stmt.excluded.value}
                )
            )
    return len(items)
