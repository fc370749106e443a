"""Reads an X12 005010X279A1 271 into what eligibility decides on (pure; x12sdk does the parsing).

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
from decimal import Decimal
from typing import Any, Literal

from x12sdk.io import X12ModelReader, X12SegmentReader

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


def _codes(eb: Any) -> set[str]:
    return {str(getattr(c, "value", c)) for c in (eb.service_type_code or [])}


def _val(code: Any) -> str | None:
    return None if code is None else str(getattr(code, "value", code))


def _d8(text: str) -> date:
    return datetime.strptime(text, "%Y%m%d").date()  # noqa: DTZ007 - a calendar date, no time


def _raw_aaa(raw: str) -> tuple[list[str], list[str]]:
    """AAA reject codes from the raw segments: (information-source level, member level).

    Read from the segment stream because the x12sdk models do not accept every reject code a payer
    sends on loop 2100C/D (75 "subscriber not found" among them)."""
    source: list[str] = []
    member: list[str] = []
    level = ""
    with X12SegmentReader(raw) as reader:
        for name, fields in reader.segments():
            if name == "HL" and len(fields) > 3:
                level = fields[3]
            elif name == "AAA" and len(fields) > 3:
                (source if level in ("20", "21") else member).append(fields[3])
    return source, member


def _plan_year(*dtp_lists: Any) -> tuple[date | None, date | None]:
    start = end = None
    for dtps in dtp_lists:
        for dtp in dtps or []:
            qualifier = _val(dtp.date_time_qualifier)
            raw_period = dtp.date_time_period
            # x12sdk turns D8 values into dates; RD8 ranges stay text
            period = raw_period.strftime("%Y%m%d") if isinstance(raw_period, date) else str(raw_period)
            fmt = _val(dtp.date_time_period_format_qualifier)
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
        source_rejects, member_rejects = _raw_aaa(raw)
    except Exception as exc:
        raise Unreadable271(f"the X12 could not be read: {type(exc).__name__}") from exc
    if "42" in source_rejects:
        raise PayerUnavailable("the payer is unable to respond at this time (AAA 42)")
    if member_rejects:
        kind: Kind = "not_found" if set(member_rejects) & {"72", "73", "75", "76", "58", "71"} else "rejected"
        return Answer(kind=kind, reject_codes=tuple(member_rejects))
    if source_rejects:
        return Answer(kind="rejected", reject_codes=tuple(source_rejects))
    try:
        with X12ModelReader(raw) as reader:
            models = list(reader.models())
    except Exception as exc:
        raise Unreadable271(f"the 271 is not valid X12 005010X279A1: {type(exc).__name__}") from exc
    members = [m for model in models if hasattr(model, "members") for m in model.members()]
    if not members or not any(type(model).__name__ == "EligibilityBenefit" for model in models):
        raise Unreadable271("the answer holds no 271 eligibility response")
    return _read_member(members[0])


def _read_member(member: Any) -> Answer:
    benefits = list(member.benefits)
    status: str | None = None
    secondary = False
    other_payer: str | None = None
    notes: list[str] = []
    amounts: dict[str, dict[str, Decimal]] = {}
    copay: tuple[int, Decimal] | None = None
    coinsurance: tuple[int, Decimal] | None = None
    prior_auth = False
    loop_dtps: list[Any] = []
    for loop in benefits:
        eb = loop.eb_segment
        code = _val(eb.eligibility_benefit_information)
        services = _codes(eb)
        rank = 2 if services & BEHAVIORAL else 1 if (services & GENERAL or not services) else 0
        loop_dtps.append(loop.dtp_segment)
        if code in ("1", "2", "3", "4", "5") and rank:
            status = status or "active"
        elif code in ("6", "7", "8") and rank:
            status = "inactive"
        elif code == "R":
            related = list(getattr(loop, "loop_2120c", None) or getattr(loop, "loop_2120d", None) or [])
            for entity in related:
                if _val(entity.nm1_segment.entity_identifier_code) == "PRP":
                    secondary = True
                    other_payer = entity.nm1_segment.name_last_or_organization_name
            messages = " ".join(m.free_form_text for m in (loop.msg_segment or [])).lower()
            if "secondary" in messages and "this plan" in messages:
                secondary = True
        if rank == 0 or _val(eb.inplan_network_indicator) == "N":
            continue
        if _val(eb.authorization_certification_indicator) == "Y" and rank == 2:
            prior_auth = True
        if code == "B" and eb.benefit_amount is not None and (copay is None or rank > copay[0]):
            copay = (rank, Decimal(eb.benefit_amount))
        elif (
            code == "A" and eb.benefit_percent is not None and (coinsurance is None or rank > coinsurance[0])
        ):
            coinsurance = (rank, Decimal(eb.benefit_percent))
        elif code in ("C", "G") and eb.benefit_amount is not None:
            if _val(eb.coverage_level_code) not in (None, "IND"):
                continue
            period = _val(eb.time_period_qualifier) or "23"
            slot = {"22": "total", "23": "total", "25": "total", "29": "remaining", "24": "met"}.get(period)
            if slot:
                key = f"{code}:{slot}"
                prev = amounts.setdefault(key, {})
                if rank >= prev.get("rank", Decimal(0)):
                    amounts[key] = {"rank": Decimal(rank), "value": Decimal(eb.benefit_amount)}
    start, end = _plan_year(member.member.dtp_segment, member.subscriber.dtp_segment, *loop_dtps)
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
