"""Our table of behavioral-health CPT codes and their time rules. Pure: no I/O.

Psychotherapy codes are chosen by the minutes actually spent (CPT's midpoint rule): 90832 is 16-37 minutes,
90834 38-52, 90837 53 or more. Crisis psychotherapy 90839 covers the first 30-74 minutes and 90840 is added
once for each further 30 minutes (75-104 minutes: one, 105-134: two, ...). 90785 (interactive complexity)
is an add-on to diagnostic evaluations, psychotherapy and group therapy, never to crisis sessions.
The E/M add-ons 90833/90836/90838 need an E/M code we do not bill, so they are not accepted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class CptCode:
    code: str
    description: str
    charge: Decimal  # our list charge, what the 837P bills
    min_minutes: int | None = None
    max_minutes: int | None = None
    add_on: bool = False


TABLE: dict[str, CptCode] = {
    c.code: c
    for c in (
        CptCode("90791", "Psychiatric diagnostic evaluation", Decimal("200.00")),
        CptCode("90792", "Psychiatric diagnostic evaluation with medical services", Decimal("250.00")),
        CptCode("90832", "Psychotherapy, 30 minutes", Decimal("90.00"), 16, 37),
        CptCode("90834", "Psychotherapy, 45 minutes", Decimal("130.00"), 38, 52),
        CptCode("90837", "Psychotherapy, 60 minutes", Decimal("180.00"), 53, None),
        CptCode("90839", "Psychotherapy for crisis, first 60 minutes", Decimal("220.00"), 30, None),
        CptCode(
            "90840", "Psychotherapy for crisis, each additional 30 minutes", Decimal("100.00"), add_on=True
        ),
        CptCode("90846", "Family psychotherapy without the patient", Decimal("140.00"), 26, None),
        CptCode("90847", "Family psychotherapy with the patient", Decimal("150.00"), 26, None),
        CptCode("90853", "Group psychotherapy", Decimal("60.00")),
        CptCode("90785", "Interactive complexity", Decimal("25.00"), add_on=True),
    )
}

EM_ADD_ONS = {"90833", "90836", "90838"}
INTERACTIVE_COMPLEXITY_PRIMARIES = {"90791", "90792", "90832", "90834", "90837", "90853"}


def crisis_add_on_units(minutes: int) -> int:
    """How many 90840 units a crisis session of `minutes` carries."""
    return 0 if minutes < 75 else 1 + (minutes - 75) // 30


def problems(cpt_code: str, add_on_codes: Sequence[str], minutes: int | None) -> list[str]:
    """Every way the coding breaks our table's rules (empty when it is fine)."""
    out: list[str] = []
    if cpt_code in EM_ADD_ONS:
        return [f"{cpt_code} is an add-on to an E/M visit, which we do not bill; use 90832/90834/90837."]
    primary = TABLE.get(cpt_code)
    if primary is None:
        return [f"{cpt_code} is not a behavioral-health CPT code we bill."]
    if primary.add_on:
        return [f"{cpt_code} is an add-on code and cannot be billed on its own."]
    if primary.min_minutes is not None:
        if minutes is None:
            out.append(f"{cpt_code} is a timed code: give the session's duration in minutes.")
        elif minutes < primary.min_minutes or (
            primary.max_minutes is not None and minutes > primary.max_minutes
        ):
            upper = f"-{primary.max_minutes}" if primary.max_minutes is not None else " or more"
            out.append(
                f"{cpt_code} needs {primary.min_minutes}{upper} minutes; the session lasted {minutes}."
            )
    for code in add_on_codes:
        entry = TABLE.get(code)
        if entry is None or not entry.add_on:
            out.append(f"{code} is not an add-on code we bill.")
        elif code == "90785" and cpt_code not in INTERACTIVE_COMPLEXITY_PRIMARIES:
            out.append(f"90785 (interactive complexity) cannot be added to {cpt_code}.")
        elif code == "90840" and cpt_code != "90839":
            out.append("90840 is added only to a 90839 crisis session.")
    if cpt_code == "90839" and minutes is not None:
        want = crisis_add_on_units(minutes)
        have = sum(1 for c in add_on_codes if c == "90840")
        if have != want:
            out.append(f"A {minutes}-minute crisis session carries {want} unit(s) of 90840, not {have}.")
    return out


def total_charge(cpt_code: str, add_on_codes: Sequence[str]) -> Decimal:
    return TABLE[cpt_code].charge + sum((TABLE[c].charge for c in add_on_codes), Decimal("0.00"))
