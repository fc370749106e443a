"""Pure rules: business-day deadlines, clawback classification, COB denial codes, CPT time rules."""

from __future__ import annotations

from datetime import date

import pytest

from claims import cpt
from claims.rules import (
    PLATFORM_CAUSES,
    add_business_days,
    classify_recoupment,
    is_cob_denial,
    notes_deadline,
)


def test_notes_deadline_is_three_business_days() -> None:
    assert notes_deadline(date(2026, 3, 2)) == date(2026, 3, 5)  # Monday -> Thursday


def test_notes_deadline_skips_a_weekend() -> None:
    assert notes_deadline(date(2026, 3, 5)) == date(2026, 3, 10)  # Thursday -> Tuesday


def test_notes_deadline_skips_a_holiday_weekend() -> None:
    # Friday before Memorial Day (Monday 25 May 2026): Tue 26, Wed 27, Thu 28.
    assert notes_deadline(date(2026, 5, 22)) == date(2026, 5, 28)


def test_notes_deadline_skips_thanksgiving() -> None:
    # Wednesday 25 Nov 2026; Thanksgiving is Thursday 26 Nov.
    assert notes_deadline(date(2026, 11, 25)) == date(2026, 12, 1)


def test_business_days_cross_new_year() -> None:
    assert add_business_days(date(2026, 12, 31), 1) == date(2027, 1, 4)  # Fri 1 Jan is a holiday


@pytest.mark.parametrize(
    "cause", ["network_status_misrepresented", "benefits_changed_undetected", "authorization_unknown"]
)
def test_platform_errors_are_absorbed_by_the_platform(cause: str) -> None:
    assert classify_recoupment(cause) == "platform"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "cause",
    ["coding_not_compliant", "codes_do_not_match_notes", "notes_not_supplied", "no_response_to_dispute"],
)
def test_provider_errors_are_recouped_from_the_provider(cause: str) -> None:
    assert classify_recoupment(cause) == "provider"  # type: ignore[arg-type]
    assert cause not in PLATFORM_CAUSES


def test_carc_22_and_23_are_cob_denials_and_others_are_not() -> None:
    assert is_cob_denial(["22"])
    assert is_cob_denial(["45", "23"])
    assert not is_cob_denial(["50", "45"])


def test_psychotherapy_codes_follow_the_time_rule() -> None:
    assert cpt.problems("90834", [], 45) == []
    assert cpt.problems("90834", [], 30) == ["90834 needs 38-52 minutes; the session lasted 30."]
    assert cpt.problems("90837", [], 53) == []
    assert cpt.problems("90832", [], None) == [
        "90832 is a timed code: give the session's duration in minutes."
    ]


def test_crisis_add_ons_must_match_the_minutes() -> None:
    assert cpt.problems("90839", [], 60) == []
    assert cpt.problems("90839", ["90840"], 80) == []
    assert cpt.problems("90839", ["90840", "90840"], 110) == []
    assert cpt.problems("90839", [], 80) == ["A 80-minute crisis session carries 1 unit(s) of 90840, not 0."]


def test_add_ons_never_stand_alone_and_fit_only_their_primaries() -> None:
    assert cpt.problems("90840", [], 30) == ["90840 is an add-on code and cannot be billed on its own."]
    assert cpt.problems("90839", ["90785"], 60) == [
        "90785 (interactive complexity) cannot be added to 90839."
    ]
    assert cpt.problems("90791", ["90785"], None) == []
    assert "E/M" in cpt.problems("90833", [], 30)[0]
    assert cpt.problems("99213", [], 30) == ["99213 is not a behavioral-health CPT code we bill."]
