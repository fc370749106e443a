"""The primary/secondary advisor: every row of the source table and the NAIC rules around it."""

from __future__ import annotations

from datetime import date

from eligibility.cob.advisor import Person, Plan, determine

ON = date(2026, 3, 2)


def order(person: Person, *plans: Plan) -> list[str]:
    return [s.plan_id for s in determine(person, list(plans), on=ON).order]


def rule(person: Person, *plans: Plan) -> str:
    return determine(person, list(plans), on=ON).order[0].rule


def test_under_26_own_school_or_employer_plan_before_parents_plan() -> None:
    person = Person(date_of_birth=date(2004, 6, 1))
    parents = Plan("parents", "parent_dependent", date(2010, 1, 1), holder_birthday=date(1970, 1, 5))
    own = Plan("own", "self", date(2025, 9, 1))
    assert order(person, parents, own) == ["own", "parents"]
    assert rule(person, parents, own).startswith("Non-dependent before dependent")


def test_married_own_employer_plan_before_spouses_employer_plan() -> None:
    person = Person(date_of_birth=date(1985, 6, 1), married=True)
    spouse = Plan("spouse", "spouse_dependent", date(2015, 1, 1))
    own = Plan("own", "self", date(2020, 1, 1))
    assert order(person, spouse, own) == ["own", "spouse"]


def test_married_parents_birthday_rule_uses_month_and_day_not_year() -> None:
    person = Person(date_of_birth=date(2012, 6, 1))
    older_parent_later_birthday = Plan(
        "mom", "parent_dependent", date(2012, 6, 1), holder_birthday=date(1975, 9, 1)
    )
    younger_parent_earlier_birthday = Plan(
        "dad", "parent_dependent", date(2012, 6, 1), holder_birthday=date(1980, 2, 1)
    )
    assert order(person, older_parent_later_birthday, younger_parent_earlier_birthday) == ["dad", "mom"]
    assert rule(person, older_parent_later_birthday, younger_parent_earlier_birthday).startswith(
        "Birthday rule"
    )


def test_birthday_tie_longer_coverage_first() -> None:
    person = Person(date_of_birth=date(2012, 6, 1))
    newer = Plan("newer", "parent_dependent", date(2020, 1, 1), holder_birthday=date(1978, 4, 4))
    older = Plan("older", "parent_dependent", date(2013, 1, 1), holder_birthday=date(1980, 4, 4))
    assert order(person, newer, older) == ["older", "newer"]
    assert "tie" in rule(person, newer, older)


def test_divorced_parents_custodial_parent_first() -> None:
    person = Person(date_of_birth=date(2012, 6, 1), parents_married=False)
    custodial = Plan(
        "custodial",
        "parent_dependent",
        date(2018, 1, 1),
        holder_birthday=date(1980, 12, 1),
        custody="custodial",
    )
    other = Plan(
        "other",
        "parent_dependent",
        date(2013, 1, 1),
        holder_birthday=date(1980, 1, 1),
        custody="non_custodial",
    )
    step = Plan(
        "step",
        "parent_dependent",
        date(2013, 1, 1),
        holder_birthday=date(1980, 1, 2),
        custody="custodial_parent_spouse",
    )
    assert order(person, other, step, custodial) == ["custodial", "step", "other"]
    result = determine(person, [other, step, custodial], on=ON)
    assert [s.position for s in result.order] == ["primary", "secondary", "tertiary"]
    assert result.order[0].rule.startswith("Custody rule")


def test_divorced_parents_joint_custody_uses_birthday_rule() -> None:
    person = Person(date_of_birth=date(2012, 6, 1), parents_married=False, joint_custody=True)
    a = Plan("a", "parent_dependent", date(2013, 1, 1), holder_birthday=date(1980, 8, 1), custody="custodial")
    b = Plan("b", "parent_dependent", date(2013, 1, 1), holder_birthday=date(1980, 3, 1), custody="custodial")
    assert order(person, a, b) == ["b", "a"]
    assert rule(person, a, b).startswith("Joint custody")


def test_court_decree_beats_custody() -> None:
    person = Person(date_of_birth=date(2012, 6, 1), parents_married=False)
    custodial = Plan(
        "custodial",
        "parent_dependent",
        date(2013, 1, 1),
        holder_birthday=date(1980, 1, 1),
        custody="custodial",
    )
    decreed = Plan(
        "decreed",
        "parent_dependent",
        date(2013, 1, 1),
        holder_birthday=date(1980, 5, 1),
        custody="non_custodial",
        court_decree=True,
    )
    assert order(person, custodial, decreed) == ["decreed", "custodial"]
    assert rule(person, custodial, decreed).startswith("Court decree")


def test_under_26_married_spouses_plan_before_parents_plan() -> None:
    person = Person(date_of_birth=date(2002, 6, 1), married=True)
    parents = Plan("parents", "parent_dependent", date(2002, 6, 1), holder_birthday=date(1970, 1, 1))
    spouse = Plan("spouse", "spouse_dependent", date(2025, 1, 1))
    assert order(person, parents, spouse) == ["spouse", "parents"]


def test_parents_plan_left_out_at_26() -> None:
    person = Person(date_of_birth=date(2000, 1, 1))
    parents = Plan("parents", "parent_dependent", date(2000, 1, 1), holder_birthday=date(1970, 1, 1))
    own = Plan("own", "self", date(2024, 1, 1))
    result = determine(person, [parents, own], on=ON)
    assert [s.plan_id for s in result.order] == ["own"]
    assert result.excluded[0][0] == "parents"


def test_active_employee_plan_before_retiree_plan() -> None:
    person = Person(date_of_birth=date(1960, 1, 1), married=True)
    retiree = Plan("retiree", "spouse_dependent", date(2000, 1, 1), employment="retired")
    active = Plan("active", "spouse_dependent", date(2022, 1, 1), employment="active")
    assert order(person, retiree, active) == ["active", "retiree"]
    assert rule(person, retiree, active).startswith("Active before inactive")


def test_cobra_plan_pays_after_the_other_plan() -> None:
    person = Person(date_of_birth=date(1980, 1, 1))
    cobra = Plan("cobra", "self", date(2010, 1, 1), employment="cobra")
    job = Plan("job", "self", date(2026, 1, 1))
    assert order(person, cobra, job) == ["job", "cobra"]
    assert rule(person, cobra, job).startswith("COBRA last")


def test_longer_coverage_first_when_nothing_else_decides() -> None:
    person = Person(date_of_birth=date(1980, 1, 1))
    a = Plan("a", "self", date(2020, 1, 1))
    b = Plan("b", "self", date(2015, 1, 1))
    assert order(person, a, b) == ["b", "a"]
    assert rule(person, a, b).startswith("Longer before shorter")
