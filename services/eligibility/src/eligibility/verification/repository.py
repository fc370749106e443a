"""Every query of a verification, as fixed SQL.

A verification is the service's hot path (a burst of them runs side by side against a slow partner), so
its statements are written once here rather than built by the ORM per request: they run on a pooled asyncpg
connection (`Database.pinned()` for the request's first step, `Database.transaction()` for the answer),
prepared once per connection by asyncpg. The ORM path (COB follow-ups, other features)
sees the same rows; the tables are those of eligibility.models, in the service's `eligibility` schema.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg

from kit.db import execute_together


@dataclass(frozen=True)
class InquiryFacts:
    """What the 270 asks about: the coverage and the client it covers."""

    client_id: uuid.UUID
    payer_id: str
    member_id: str
    group_number: str | None
    relationship: str
    subscriber_first_name: str
    subscriber_last_name: str
    subscriber_date_of_birth: date
    first_name: str
    last_name: str
    date_of_birth: date


@dataclass(frozen=True)
class LockedFacts:
    """The coverage and its client, locked for the answer, with what the answer is compared with."""

    client_id: uuid.UUID
    payer_id: str
    current: bool
    status: str
    status_reason: str | None
    verification_failures: int
    self_pay: bool
    insurance_ineligible: bool
    account_status: str
    cleared_for_scheduling: bool
    status_reason_code: str | None
    client_status_reason: str | None
    last_snapshot_id: uuid.UUID | None
    last_snapshot_coverage_id: uuid.UUID | None
    last_snapshot_values: dict[str, Any] | None
    open_case_id: uuid.UUID | None
    current_coverage_id: uuid.UUID | None
    current_coverage_status: str | None
    current_coverage_reason: str | None


_INQUIRY = (
    "SELECT v.client_id, v.payer_id, v.member_id, v.group_number, v.relationship, v.subscriber_first_name,"
    " v.subscriber_last_name, v.subscriber_date_of_birth, c.first_name, c.last_name, c.date_of_birth"
    " FROM eligibility.coverages v JOIN eligibility.clients c ON c.id = v.client_id WHERE v.id = $1"
)

_INSERT_PENDING = (
    "INSERT INTO eligibility.verifications (id, coverage_id, trigger, requested_at, outcome, raw_270)"
    " VALUES ($1, $2, $3, $4, 'pending', $5)"
)

# Client first, as every other writer locks them (registration, coverage entry, COB handlers).
_LOCK = (
    "SELECT v.client_id, v.payer_id, v.current, v.status, v.status_reason, v.verification_failures,"
    " c.self_pay, c.insurance_ineligible, c.account_status, c.cleared_for_scheduling, c.status_reason_code,"
    " c.status_reason AS client_status_reason"
    " FROM eligibility.clients c JOIN eligibility.coverages v ON v.client_id = c.id WHERE v.id = $1 FOR UPDATE OF c, v"
)

# Read after the locks are held, so a verification of the same client that committed meanwhile is seen.
_CONTEXT = (
    "SELECT (SELECT row(id, coverage_id, values::text) FROM eligibility.benefit_snapshots WHERE client_id = $1"
    "         ORDER BY seq DESC LIMIT 1) AS snapshot,"
    " (SELECT id FROM eligibility.cob_cases WHERE client_id = $1 AND status = 'open' ORDER BY opened_at LIMIT 1) AS open_case,"
    " (SELECT row(id, status, status_reason) FROM eligibility.coverages WHERE client_id = $1 AND current"
    "         ORDER BY created_at DESC LIMIT 1) AS current_coverage"
)

_COMPLETE = (
    "UPDATE eligibility.verifications SET completed_at = $2, raw_271 = $3, outcome = $4, failure_reason = $5,"
    " snapshot_id = $6 WHERE id = $1"
)

_COVERAGE_FAILED = (
    "UPDATE eligibility.coverages SET verification_failures = $2, next_verification_at = $3 WHERE id = $1"
)

_COVERAGE_ANSWERED = (
    "UPDATE eligibility.coverages SET last_verified_at = $2, verification_failures = 0, next_verification_at = $3,"
    " status = $4, status_reason = $5, updated_at = CASE WHEN $6 THEN $2 ELSE updated_at END WHERE id = $1"
)

_INSERT_SNAPSHOT = (
    "INSERT INTO eligibility.benefit_snapshots (id, coverage_id, client_id, verification_id, taken_at, values, change_reason)"
    " VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)"
)

_CLIENT_STATUS = (
    "UPDATE eligibility.clients SET account_status = $2, cleared_for_scheduling = $3, status_reason_code = $4,"
    " status_reason = $5, updated_at = CASE WHEN $6 THEN $7 ELSE updated_at END WHERE id = $1"
)

_INSERT_CASE = (
    "INSERT INTO eligibility.cob_cases (id, client_id, coverage_id, payer_id, trigger, status, claim_ids, opened_at,"
    " notified_at, follow_up_due_at) VALUES ($1, $2, $3, $4, $5, 'open', '{}', $6, $6, $7)"
)

_INSERT_CASE_EVENTS = (
    "INSERT INTO eligibility.cob_case_events (case_id, at, kind, detail)"
    " SELECT $1, $2, kind, detail FROM unnest($3::text[], $4::text[]) AS e(kind, detail)"
)


async def inquiry_facts(pg: asyncpg.Connection, coverage_id: uuid.UUID) -> InquiryFacts | None:
    row = await pg.fetchrow(_INQUIRY, coverage_id)
    return None if row is None else InquiryFacts(*row.values())


async def add_pending(
    pg: asyncpg.Connection,
    *,
    verification_id: uuid.UUID,
    coverage_id: uuid.UUID,
    trigger: str,
    requested_at: datetime,
    raw_270: str,
) -> None:
    await pg.execute(_INSERT_PENDING, verification_id, coverage_id, trigger, requested_at, raw_270)


async def lock(pg: asyncpg.Connection, coverage_id: uuid.UUID) -> LockedFacts | None:
    """Locks the client and the coverage, then reads the last snapshot, open case and current coverage."""
    row = await pg.fetchrow(_LOCK, coverage_id)
    if row is None:
        return None
    context = await pg.fetchrow(_CONTEXT, row["client_id"])
    snapshot = context["snapshot"]
    current = context["current_coverage"]
    return LockedFacts(
        **row,
        last_snapshot_id=snapshot[0] if snapshot else None,
        last_snapshot_coverage_id=snapshot[1] if snapshot else None,
        last_snapshot_values=json.loads(snapshot[2]) if snapshot else None,
        open_case_id=context["open_case"],
        current_coverage_id=current[0] if current else None,
        current_coverage_status=current[1] if current else None,
        current_coverage_reason=current[2] if current else None,
    )


class Writes:
    """A verification's writes, collected as they are decided and sent together with the outbox insert
    (`kit.db.execute_together`): one round trip for the whole answer."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, tuple[Any, ...]]] = []

    def add(self, sql: str, values: tuple[Any, ...]) -> None:
        self.statements.append((sql, values))

    async def run(self, pg: asyncpg.Connection) -> None:
        await execute_together(pg, self.statements)

    def complete(
        self,
        verification_id: uuid.UUID,
        *,
        completed_at: datetime,
        raw_271: str | None,
        outcome: str,
        failure_reason: str | None,
        snapshot_id: uuid.UUID | None,
    ) -> None:
        self.add(_COMPLETE, (verification_id, completed_at, raw_271, outcome, failure_reason, snapshot_id))

    def coverage_failed(self, coverage_id: uuid.UUID, *, failures: int, next_at: datetime) -> None:
        self.add(_COVERAGE_FAILED, (coverage_id, failures, next_at))

    def coverage_answered(
        self,
        coverage_id: uuid.UUID,
        *,
        at: datetime,
        next_at: datetime,
        status: str,
        reason: str | None,
        moved: bool,
    ) -> None:
        self.add(_COVERAGE_ANSWERED, (coverage_id, at, next_at, status, reason, moved))

    def add_snapshot(
        self,
        *,
        snapshot_id: uuid.UUID,
        coverage_id: uuid.UUID,
        client_id: uuid.UUID,
        verification_id: uuid.UUID,
        taken_at: datetime,
        values_json: str,
        reason: str | None,
    ) -> None:
        self.add(
            _INSERT_SNAPSHOT,
            (snapshot_id, coverage_id, client_id, verification_id, taken_at, values_json, reason),
        )

    def client_status(
        self,
        client_id: uuid.UUID,
        *,
        account_status: str,
        cleared: bool,
        reason_code: str | None,
        reason: str | None,
        moved: bool,
        at: datetime,
    ) -> None:
        self.add(_CLIENT_STATUS, (client_id, account_status, cleared, reason_code, reason, moved, at))

    def open_case(
        self,
        *,
        case_id: uuid.UUID,
        client_id: uuid.UUID,
        coverage_id: uuid.UUID,
        payer_id: str,
        trigger: str,
        at: datetime,
        follow_up_due_at: datetime,
    ) -> None:
        self.add(_INSERT_CASE, (case_id, client_id, coverage_id, payer_id, trigger, at, follow_up_due_at))

    def add_case_events(self, case_id: uuid.UUID, *, at: datetime, events: list[tuple[str, str]]) -> None:
        self.add(_INSERT_CASE_EVENTS, (case_id, at, [k for k, _ in events], [d for _, d in events]))
