"""The claims service's periodic work."""

from __future__ import annotations

from typing import Any

from claims.config import Settings
from claims.notes.service import mark_overdue
from claims.remittances.poller import poll_remittances
from claims.submission.service import submit_due_claims
from kit.jobs import PeriodicJob


async def _submit(runtime: Any) -> None:
    await submit_due_claims(runtime)


async def _notes(runtime: Any) -> None:
    await mark_overdue(runtime)


async def _poll(runtime: Any) -> None:
    await poll_remittances(runtime)


SUBMIT_CLAIMS = PeriodicJob("claims.submit", 5.0, _submit)
NOTES_DEADLINES = PeriodicJob("claims.notes-deadlines", 300.0, _notes)
POLL_REMITTANCES = PeriodicJob("claims.poll-835", 60.0, _poll)


def jobs(settings: Settings) -> list[PeriodicJob]:
    out = [
        PeriodicJob(SUBMIT_CLAIMS.name, settings.claim_submit_interval_s, _submit),
        PeriodicJob(NOTES_DEADLINES.name, settings.notes_deadline_interval_s, _notes),
    ]
    if settings.remittance_poll_interval_s > 0:
        out.append(PeriodicJob(POLL_REMITTANCES.name, settings.remittance_poll_interval_s, _poll))
    return out
