"""The sender as a long-running worker: it sends due e-mails as soon as a transaction that queued some commits
(LISTEN on `notifications_due`; a trigger on `notifications` NOTIFYs it for every row made pending), and at least
every `sender_interval_s` for retries coming due and any notification missed while the listener reconnected.

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
from notifications.delivery.sender import Mailer, claim, deliver
from notifications.models import Notification

log = logging.getLogger("notifications.sender")

# SMTP connections idle this long are closed (relays drop idle clients after a few minutes anyway).
IDLE_CLOSE_S = 30.0


class Sender:
    def __init__(self) -> None:
        self._wake = asyncio.Event()
        self.listening = asyncio.Event()  # set while the LISTEN connection is up (tests wait for it)
        self.active = False  # while this process is the one sending (it holds the sender's lock)

    def wake(self) -> None:
        self._wake.set()

    async def run(self, runtime: Runtime) -> None:
        """Send until cancelled.

        Up to `sender_passes` batches are being sent at once, each over its own `sender_concurrency` SMTP
        connections: e-mails that come due while a batch is being sent are leased and sent at once, instead
        of waiting for that batch (leases keep the batches apart)."""
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
        mailers = [Mailer(settings) for _ in range(max(settings.sender_passes, 1))]
        free = list(mailers)
        passes: set[asyncio.Task[None]] = set()
        last_sent = time.monotonic()
        self.active = True
        try:
            while True:
                self._wake.clear()  # before claiming: a commit from now on wakes the next look
                while free:
                    try:
                        batch = await claim(runtime)
                    except Exception:
                        log.exception("sender could not lease e-mails; it looks again at the next wake-up")
                        break
                    if not batch:
                        break
                    last_sent = time.monotonic()
                    task = asyncio.create_task(self._send(runtime, batch, free.pop(), free))
                    passes.add(task)
                    task.add_done_callback(passes.discard)
                if not passes and time.monotonic() - last_sent > IDLE_CLOSE_S:
                    for mailer in mailers:
                        await mailer.close()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), settings.sender_interval_s)
        finally:
            self.active = False
            for task in passes:
                task.cancel()
            await asyncio.gather(*passes, return_exceptions=True)
            listener.cancel()
            with contextlib.suppress(BaseException):
                await listener
            for mailer in mailers:
                await mailer.close()

    async def _send(
        self, runtime: Runtime, batch: list[Notification], mailer: Mailer, free: list[Mailer]
    ) -> None:
        """One batch: render, send, record. Its connections are free as soon as the relay has answered for
        every e-mail (the outcomes are recorded meanwhile), and the sender looks again: more may have come
        due, or be left when the batch was full."""
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                free.append(mailer)
                self._wake.set()

        try:
            await deliver(runtime, batch, mailer, sent=release)
        except Exception:
            log.exception("sender pass failed; leased e-mails go out again after their lease")
            if not released:  # (once released, another batch may be using the connections)
                await mailer.close()
        finally:
            release()
