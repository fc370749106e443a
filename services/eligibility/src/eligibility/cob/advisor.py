"""Which plan pays first: the NAIC Coordination of Benefits model rules, as the source table applies them
(pure). It advises; the insurer's record still decides.

Rules, in the order the NAIC model applies them to each pair of plans:
1. Non-dependent before dependent: the plan covering the person as employee/member/subscriber (their
   own employer's or school's plan) pays before a plan covering them as someone's dependent.
2. Dependent child: a married adult child's spouse's plan pays before their parents' plans (the table);
   between the parents' plans: parents married or living together -> birthday rule (the parent whose
   birthday, month and day, comes first in the calendar year; same birthday -> the plan that has covered
   the parent longer); parents divorced or separated -> a court decree that makes one parent responsible
   decides; joint custody without such a decree -> birthday rule; otherwise the custodial parent's plan,
   then the custodial parent's spouse's, then the non-custodial parent's, then their spouse's.
3. Active before inactive: covering an active employee (or their dependent) before a retired or laid-off
   one.
4. COBRA last: a plan covering the person under COBRA/state continuation pays after the other plan.
5. Longer before shorter: the plan that has covered the person longer pays first.
Dependent coverage under a parent's plan ends at 26, so a parent's plan is left out for a person 26 or
older.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date
from typing import Literal

CoveredAs = Literal["self", "spouse_dependent", "parent_dependent"]
Employment = Literal["active", "retired", "cobra"]
Custody = Literal["custodial", "custodial_parent_spouse", "non_custodial", "non_custodial_parent_spouse"]

POSITIONS = ("primary", "secondary", "tertiary", "fourth", "fifth")
CUSTODY_ORDER: dict[str, int] = {
    "custodial": 0,
    "custodial_parent_spouse": 1,
    "non_custodial": 2,
    "non_custodial_parent_spouse": 3,
}


@dataclass(frozen=True)
class Plan:
    plan_id: str
    covered_as: CoveredAs
    coverage_start: date
    employment: Employment = "active"  # of the plan's holder (the person, their spouse or parent)
    holder_birthday: date | None = None  # a parent's date of birth (only month and day count)
    custody: Custody | None = None  # for a parent's plan when the parents are divorced/separated
    court_decree: bool = False  # a court decree makes this plan's holder responsible for health care


@dataclass(frozen=True)
class Person:
    date_of_birth: date
    married: bool = False
    parents_married: bool = True  # married or living together
    joint_custody: bool = False


@dataclass(frozen=True)
class Step:
    position: str
    plan_id: str
    rule: str  # why this plan comes before the next one ("" for the last)


@dataclass(frozen=True)
class Determination:
    order: list[Step]
    excluded: list[tuple[str, str]]
    note: str = "Advice only: the insurers' coordination-of-benefits records decide which plan is primary."


class Undetermined(Exception):
    pass


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _birthday_rule(a: Plan, b: Plan) -> tuple[Plan, str]:
    if a.holder_birthday is None or b.holder_birthday is None:
        raise Undetermined("the birthday rule needs both parents' dates of birth")
    ka = (a.holder_birthday.month, a.holder_birthday.day)
    kb = (b.holder_birthday.month, b.holder_birthday.day)
    if ka != kb:
        first = a if ka < kb else b
        return first, (
            "Birthday rule: the parent whose birthday comes first in the calendar year "
            f"({first.holder_birthday:%B %-d}) has the primary plan; the year of birth does not count."
        )
    if a.coverage_start != b.coverage_start:
        first = a if a.coverage_start < b.coverage_start else b
        return first, (
            "Birthday rule tie (both parents share a birthday): the plan that has covered its parent "
            f"longer (since {first.coverage_start.isoformat()}) is primary."
        )
    raise Undetermined("same birthday and same coverage start date")


def _children_rule(a: Plan, b: Plan, person: Person) -> tuple[Plan, str] | None:
    if person.parents_married:
        return _birthday_rule(a, b)
    if a.court_decree != b.court_decree:
        first = a if a.court_decree else b
        return first, (
            "Court decree: the plan of the parent a court decree makes responsible for the child's "
            "health care is primary."
        )
    if person.joint_custody:
        winner, why = _birthday_rule(a, b)
        return winner, "Joint custody without a decree assigning responsibility: " + why
    if a.custody and b.custody and a.custody != b.custody:
        first = a if CUSTODY_ORDER[a.custody] < CUSTODY_ORDER[b.custody] else b
        return first, (
            "Custody rule (parents divorced or separated): the custodial parent's plan pays first, then "
            "the custodial parent's spouse's, then the non-custodial parent's, then their spouse's."
        )
    return None


def _compare(a: Plan, b: Plan, person: Person) -> tuple[Plan, str]:
    """The plan of the two that pays first, and the rule that decided it."""
    if (a.covered_as == "self") != (b.covered_as == "self"):
        first = a if a.covered_as == "self" else b
        return first, (
            "Non-dependent before dependent: the plan covering the person as employee, member or "
            "subscriber (their own employer's or school's plan) pays before a plan covering them as a "
            "dependent."
        )
    if {a.covered_as, b.covered_as} == {"spouse_dependent", "parent_dependent"}:
        first = a if a.covered_as == "spouse_dependent" else b
        return first, "Married dependent: the spouse's plan pays before the parents' plans."
    if a.covered_as == b.covered_as == "parent_dependent":
        decided = _children_rule(a, b, person)
        if decided:
            return decided
    if (
        a.employment != b.employment
        and "retired" in (a.employment, b.employment)
        and "cobra"
        not in (
            a.employment,
            b.employment,
        )
    ):
        first = a if a.employment == "active" else b
        return first, (
            "Active before inactive: the plan covering an active employee (or their dependent) pays "
            "before the plan covering a retired or laid-off one."
        )
    if (a.employment == "cobra") != (b.employment == "cobra"):
        first = b if a.employment == "cobra" else a
        return (
            first,
            "COBRA last: continuation coverage (COBRA or state continuation) pays after the other plan.",
        )
    if a.coverage_start != b.coverage_start:
        first = a if a.coverage_start < b.coverage_start else b
        return first, (
            f"Longer before shorter: the plan that has covered the person longer (since "
            f"{first.coverage_start.isoformat()}) pays first."
        )
    raise Undetermined("no rule tells these plans apart")


def determine(person: Person, plans: list[Plan], *, on: date) -> Determination:
    """The order the plans pay in, and for each step the rule that decided it."""
    excluded: list[tuple[str, str]] = []
    eligible: list[Plan] = []
    for plan in plans:
        if plan.covered_as == "parent_dependent" and _age(person.date_of_birth, on) >= 26:
            excluded.append((plan.plan_id, "Dependent coverage under a parent's plan ends at age 26."))
        elif plan.covered_as == "spouse_dependent" and not person.married:
            excluded.append((plan.plan_id, "Covered as a spouse's dependent, but the person is not married."))
        else:
            eligible.append(plan)

    def cmp(a: Plan, b: Plan) -> int:
        try:
            first, _ = _compare(a, b, person)
        except Undetermined:
            return 0
        return -1 if first is a else 1

    ordered = sorted(eligible, key=functools.cmp_to_key(cmp))
    steps: list[Step] = []
    for i, plan in enumerate(ordered):
        rule = ""
        if i + 1 < len(ordered):
            try:
                _, rule = _compare(plan, ordered[i + 1], person)
            except Undetermined as exc:
                rule = (
                    f"No NAIC rule decides between these plans ({exc}); the insurers split the cost — "
                    "ask them which is primary."
                )
        steps.append(Step(position=POSITIONS[i], plan_id=plan.plan_id, rule=rule))
    return Determination(order=steps, excluded=excluded)
