"""The sender as a long-running worker: it drains due e-mails as soon as a transaction that queued some commits
(LISTEN on `notifications_due`; a trigger on `notifications` NOTIFYs it for every row made pending), and at least every `sender_interval_s`
for retries coming due and any notification missed while the listener reconnected.

It runs as the service's periodic job, so it holds that job's advisory lock while it runs: one replica sends,
the others stand by and take over within `sender_interval_s` of its connection going away. Leases make a
second sender harmless anyway (after a database restart both may run for a while).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from kit.db import listen_forever
from kit.runtime import Runtime
from notifications.config import Settings
from notifications.delivery.repository import DUE_CHANNEL
from notifications.delivery.sender import Mailer, drain

log = logging.getLogger("notifications.sender")

# SMTP connections idle this long are closed (relays drop idle clients after a few minutes anyway).
IDLE_CLOSE_S = 30.0


class Sender:
    def __init__(self) -> None:
        self._wake = asyncio.Event()
        self.listening = asyncio.Event()  # set while the LISTEN connection is up (tests wait for it)

    def wake(self) -> None:
        self._wake.set()

    async def run(self, runtime: Runtime) -> None:
        """Send until cancelled."""
        settings = runtime.settings
        assert isinstance(settings, Settings)
        listener = asyncio.create_task(
            listen_forever(
                settings.database_url,
                DUE_CHANNEL,
                self.wake,
                connected=self.listening,
                what="sender listener",
            )
        )
        mailer = Mailer(settings)
        last_sent = time.monotonic()
        try:
            while True:
                self._wake.clear()  # before draining: a commit during the drain wakes the next one
                try:
                    if await drain(runtime, mailer):
                        last_sent = time.monotonic()
                except Exception:
                    log.exception("sender pass failed; leased e-mails go out again after their lease")
                    await mailer.close()
                if time.monotonic() - last_sent > IDLE_CLOSE_S:
                    await mailer.close()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), settings.sender_interval_s)
        finally:
            listener.cancel()
            with contextlib.suppress(BaseException):
                await listener
            await mailer.close()
