"""Reads an X12 005010X279A1 271 into what eligibility decides on (pure). x12sdk's segment reader splits the
interchange; only the segments below are read (one pass, no transaction model is built).

What counts, for outpatient behavioral health in network:
- EB01 1 (active) / 6, 7, 8 (inactive) on service type 30 or MH gives the coverage status;
- EB01 R (other or additional payer) naming a primary payer (NM1*PRP in loop 2120C/D), or saying in an
  MSG that this plan is secondary, is the secondary flag;
- EB01 B copay, A coinsurance (EB08), C deductible and G out-of-pocket: EB06 23/22 (year) is the amount,
  29 (remaining) the amount left, 24 (year to date) the amount met; EB11=Y means prior authorization;
  MH benefits win over general (30) ones, out-of-network (EB12=N) ones are ignored;
- the plan year is DTP 291 (RD8) or 346/347 on loop 2100 or 2110;
- AAA in the subscriber/dependent loops means the payer could not find the member (or rejected the
  request); AAA 42 on the source loop means the payer could not answer now (a failure to retry).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Literal

from x12sdk.io import X12SegmentReader

from contracts.events import BenefitValues

BEHAVIORAL = {"MH", "CF", "A8"}
GENERAL = {"30"}
TWO = Decimal("0.01")

Kind = Literal["active", "inactive", "not_found", "rejected"]


class Unreadable271(ValueError):
    """The answer is not a 271 we can read (garbage, truncated, another transaction)."""


class PayerUnavailable(ValueError):
    """The payer answered that it cannot respond now (AAA 42): retry later."""


@dataclass(frozen=True)
class Answer:
    kind: Kind
    secondary: bool = False
    other_payer_name: str | None = None
    benefits: BenefitValues | None = None
    reject_codes: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)


def _money(value: Decimal | None) -> Decimal | None:
    return None if value is None else Decimal(value).quantize(TWO)


def _d8(text: str) -> date:
    return datetime.strptime(text, "%Y%m%d").date()  # noqa: DTZ007 - a calendar date, no time


Dtp = tuple[str, str, str]  # DTP01 qualifier, DTP02 format, DTP03 period


@dataclass
class _Benefit:
    """One 2110C/D loop: the EB segment's elements, its DTPs and MSGs, and the 2120 entities it names."""

    code: str
    coverage_level: str | None
    services: set[str]
    time_period: str | None
    amount: Decimal | None
    percent: Decimal | None
    authorization: str | None
    network: str | None
    dtps: list[Dtp] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    related: list[tuple[str, str]] = field(default_factory=list)  # (NM101, NM103) in loop 2120


@dataclass
class _Person:
    """One 2000C/D level: the 2100 DTPs and the benefit loops."""

    level: str
    dtps: list[Dtp] = field(default_factory=list)
    benefits: list[_Benefit] = field(default_factory=list)


def _element(fields: list[str], position: int) -> str | None:
    value = fields[position].strip() if len(fields) > position else ""
    return value or None


def _decimal(fields: list[str], position: int) -> Decimal | None:
    value = _element(fields, position)
    if value is None:
        return None
    try:
        return Decimal(value)
    except InvalidOperation as exc:
        raise Unreadable271(f"EB{position:02d} is not a number") from exc


def _read_segments(raw: str) -> tuple[list[str], list[str], list[_Person]]:
    """One pass over the segments (x12sdk's reader): AAA reject codes at the information-source level and
    the member level, and every subscriber/dependent level with what _read_member needs of it.

    The AAA codes are read here rather than through the x12sdk models because those do not accept every
    reject code a payer sends on loop 2100C/D (75 "subscriber not found" among them)."""
    source: list[str] = []
    member: list[str] = []
    people: list[_Person] = []
    level = ""
    person: _Person | None = None
    benefit: _Benefit | None = None
    in_2120 = False
    transaction = version = ""
    with X12SegmentReader(raw) as reader:
        repetition = reader.delimiters.repetition_separator if reader.delimiters else "^"
        for name, fields in reader.segments():
            if name == "GS":
                version = _element(fields, 8) or version
            elif name == "ST":
                transaction = _element(fields, 1) or ""
                version = _element(fields, 3) or version
            elif name == "HL" and len(fields) > 3:
                level = fields[3]
                benefit, in_2120 = None, False
                person = _Person(level) if level in ("22", "23") else None
                if person is not None:
                    people.append(person)
            elif name == "AAA" and len(fields) > 3:
                (source if level in ("20", "21") else member).append(fields[3])
            elif person is None:
                continue
            elif name == "EB":
                in_2120 = False
                benefit = _Benefit(
                    code=_element(fields, 1) or "",
                    coverage_level=_element(fields, 2),
                    services={c for c in (_element(fields, 3) or "").split(repetition) if c},
                    time_period=_element(fields, 6),
                    amount=_decimal(fields, 7),
                    percent=_decimal(fields, 8),
                    authorization=_element(fields, 11),
                    network=_element(fields, 12),
                )
                person.benefits.append(benefit)
            elif name == "LS":
                in_2120 = True
            elif name == "LE":
                in_2120 = False
            elif name == "DTP" and not in_2120:
                dtp = (_element(fields, 1) or "", _element(fields, 2) or "", _element(fields, 3) or "")
                (benefit.dtps if benefit is not None else person.dtps).append(dtp)
            elif name == "MSG" and benefit is not None:
                benefit.messages.append(_element(fields, 1) or "")
            elif name == "NM1" and benefit is not None and in_2120:
                benefit.related.append((_element(fields, 1) or "", _element(fields, 3) or ""))
    if transaction != "271" or version != "005010X279A1":
        raise Unreadable271("the answer holds no 271 eligibility response")
    return source, member, people


def _plan_year(*dtp_lists: list[Dtp]) -> tuple[date | None, date | None]:
    start = end = None
    for dtps in dtp_lists:
        for qualifier, fmt, period in dtps:
            try:
                if qualifier == "291" and fmt == "RD8" and "-" in period:
                    a, b = period.split("-", 1)
                    start, end = _d8(a), _d8(b)
                elif qualifier == "346":
                    start = _d8(period[:8])
                elif qualifier == "347":
                    end = _d8(period[:8])
            except ValueError:
                continue
    return start, end


def parse_271(raw: str) -> Answer:
    """Read a 271 interchange; raises Unreadable271 or PayerUnavailable when there is no usable answer."""
    if not raw or not raw.lstrip().startswith("ISA"):
        raise Unreadable271("the answer is not an X12 interchange")
    try:
        source_rejects, member_rejects, people = _read_segments(raw.lstrip())
    except Unreadable271:
        raise
    except Exception as exc:
        raise Unreadable271(f"the X12 could not be read: {type(exc).__name__}") from exc
    if "42" in source_rejects:
        raise PayerUnavailable("the payer is unable to respond at this time (AAA 42)")
    if member_rejects:
        kind: Kind = "not_found" if set(member_rejects) & {"72", "73", "75", "76", "58", "71"} else "rejected"
        return Answer(kind=kind, reject_codes=tuple(member_rejects))
    if source_rejects:
        return Answer(kind="rejected", reject_codes=tuple(source_rejects))
    subscriber = next((p for p in people if p.level == "22"), None)
    if subscriber is None:
        raise Unreadable271("the answer holds no 271 eligibility response")
    # As x12sdk's members(): the subscriber when the answer is about them (own benefits, or no dependent),
    # otherwise the first dependent, read with the subscriber's plan dates.
    after = people[people.index(subscriber) + 1 :]
    dependent = after[0] if after and after[0].level == "23" else None
    if subscriber.benefits or dependent is None:
        return _read_member(subscriber, subscriber)
    return _read_member(dependent, subscriber)


def _read_member(member: _Person, subscriber: _Person) -> Answer:
    benefits = member.benefits
    status: str | None = None
    secondary = False
    other_payer: str | None = None
    notes: list[str] = []
    amounts: dict[str, dict[str, Decimal]] = {}
    copay: tuple[int, Decimal] | None = None
    coinsurance: tuple[int, Decimal] | None = None
    prior_auth = False
    loop_dtps: list[list[Dtp]] = []
    for eb in benefits:
        code = eb.code
        services = eb.services
        rank = 2 if services & BEHAVIORAL else 1 if (services & GENERAL or not services) else 0
        loop_dtps.append(eb.dtps)
        if code in ("1", "2", "3", "4", "5") and rank:
            status = status or "active"
        elif code in ("6", "7", "8") and rank:
            status = "inactive"
        elif code == "R":
            for entity_code, entity_name in eb.related:
                if entity_code == "PRP":
                    secondary = True
                    other_payer = entity_name or None
            messages = " ".join(eb.messages).lower()
            if "secondary" in messages and "this plan" in messages:
                secondary = True
        if rank == 0 or eb.network == "N":
            continue
        if eb.authorization == "Y" and rank == 2:
            prior_auth = True
        if code == "B" and eb.amount is not None and (copay is None or rank > copay[0]):
            copay = (rank, eb.amount)
        elif code == "A" and eb.percent is not None and (coinsurance is None or rank > coinsurance[0]):
            coinsurance = (rank, eb.percent)
        elif code in ("C", "G") and eb.amount is not None:
            if eb.coverage_level not in (None, "IND"):
                continue
            period = eb.time_period or "23"
            slot = {"22": "total", "23": "total", "25": "total", "29": "remaining", "24": "met"}.get(period)
            if slot:
                key = f"{code}:{slot}"
                prev = amounts.setdefault(key, {})
                if rank >= prev.get("rank", Decimal(0)):
                    amounts[key] = {"rank": Decimal(rank), "value": eb.amount}
    start, end = _plan_year(member.dtps, *([subscriber.dtps] if subscriber is not member else []), *loop_dtps)
    if status is None:
        status = "active" if amounts or copay or coinsurance else "inactive"
        notes.append("no explicit coverage status; inferred from benefits")
    if status == "inactive":
        return Answer(kind="inactive", secondary=secondary, other_payer_name=other_payer)

    def accumulator(code: str) -> tuple[Decimal, Decimal]:
        total = amounts.get(f"{code}:total", {}).get("value", Decimal(0))
        if f"{code}:met" in amounts:
            met = amounts[f"{code}:met"]["value"]
        elif f"{code}:remaining" in amounts:
            met = max(total - amounts[f"{code}:remaining"]["value"], Decimal(0))
        else:
            met = Decimal(0)
        return total.quantize(TWO), min(met, total).quantize(TWO)

    deductible, deductible_met = accumulator("C")
    oop_max, oop_met = accumulator("G")
    values = None
    if start is not None and end is not None:
        values = BenefitValues(
            plan_year_start=start,
            plan_year_end=end,
            copay=_money(copay[1]) if copay else None,
            coinsurance_rate=_money(coinsurance[1]) if coinsurance else None,
            deductible=deductible,
            deductible_met=deductible_met,
            out_of_pocket_max=oop_max,
            out_of_pocket_met=oop_met,
            prior_authorization_required=prior_auth,
        )
    else:
        notes.append("no plan year on the 271; benefits not recorded")
    return Answer(
        kind="active",
        secondary=secondary,
        other_payer_name=other_payer,
        benefits=values,
        notes=notes,
    )
