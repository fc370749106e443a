"""The sandbox payer's member table: documented scenario member ids, plus whatever the admin API stages.

Scenario member ids (any payer; an id not in the table is answered "subscriber not found"):

| member id  | answer                                                                  |
|------------|-------------------------------------------------------------------------|
| ACTIVE0001 | active primary, deductible not met (1500.00, 300.00 met), 20% coinsurance |
| DEDMET0001 | active, deductible met (1500.00 of 1500.00), 20% coinsurance            |
| OOPMET0001 | active, out-of-pocket maximum met (5000.00 of 5000.00)                  |
| COPAY00001 | active, 30.00 copay, no deductible, no coinsurance                      |
| COINS00001 | active, 30% coinsurance only, no deductible                             |
| SECOND0001 | this plan is secondary: EB*R naming AETNA as primary payer (2120C PRP)  |
| TERM000001 | coverage terminated (EB*6)                                              |
| NOTFOUND01 | subscriber not found (AAA*N**75*C)                                      |
| PRIORAUTH1 | active, 25.00 copay, prior authorization required (EB11=Y)              |
| SLOW000001 | active like ACTIVE0001, answered after `delay_seconds` (default 5)      |
| MALFORMED1 | answers bytes that are not X12                                          |
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Literal

Status = Literal["active", "terminated", "not_found", "secondary", "malformed"]


@dataclass(frozen=True)
class Benefits:
    plan_year_start: date
    plan_year_end: date
    copay: Decimal | None = None
    coinsurance_rate: Decimal | None = None
    deductible: Decimal = Decimal("0.00")
    deductible_met: Decimal = Decimal("0.00")
    out_of_pocket_max: Decimal = Decimal("0.00")
    out_of_pocket_met: Decimal = Decimal("0.00")
    prior_authorization_required: bool = False


@dataclass(frozen=True)
class Member:
    member_id: str
    status: Status = "active"
    benefits: Benefits | None = None
    other_payer_name: str | None = None
    delay_seconds: float = 0.0
    raw_271: str | None = None  # answered verbatim when set


def _year(today: date) -> tuple[date, date]:
    return date(today.year, 1, 1), date(today.year, 12, 31)


def scenarios(today: date) -> dict[str, Member]:
    start, end = _year(today)
    base = Benefits(
        plan_year_start=start,
        plan_year_end=end,
        coinsurance_rate=Decimal("0.20"),
        deductible=Decimal("1500.00"),
        deductible_met=Decimal("300.00"),
        out_of_pocket_max=Decimal("5000.00"),
        out_of_pocket_met=Decimal("300.00"),
    )
    table = [
        Member("ACTIVE0001", benefits=base),
        Member(
            "DEDMET0001",
            benefits=replace(base, deductible_met=Decimal("1500.00"), out_of_pocket_met=Decimal("1800.00")),
        ),
        Member(
            "OOPMET0001",
            benefits=replace(base, deductible_met=Decimal("1500.00"), out_of_pocket_met=Decimal("5000.00")),
        ),
        Member(
            "COPAY00001",
            benefits=replace(
                base,
                copay=Decimal("30.00"),
                coinsurance_rate=None,
                deductible=Decimal("0.00"),
                deductible_met=Decimal("0.00"),
                out_of_pocket_met=Decimal("0.00"),
            ),
        ),
        Member(
            "COINS00001",
            benefits=replace(
                base,
                coinsurance_rate=Decimal("0.30"),
                deductible=Decimal("0.00"),
                deductible_met=Decimal("0.00"),
                out_of_pocket_met=Decimal("0.00"),
            ),
        ),
        Member("SECOND0001", status="secondary", benefits=base, other_payer_name="AETNA"),
        Member("TERM000001", status="terminated"),
        Member("NOTFOUND01", status="not_found"),
        Member(
            "PRIORAUTH1",
            benefits=replace(
                base, copay=Decimal("25.00"), coinsurance_rate=None, prior_authorization_required=True
            ),
        ),
        Member("SLOW000001", benefits=base, delay_seconds=5.0),
        Member("MALFORMED1", status="malformed"),
    ]
    return {m.member_id: m for m in table}
