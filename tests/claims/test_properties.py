"""Properties of the pure rules over many generated cases (hypothesis)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from claims.routing import Credential, CrisisClaim, Licence, decide, licensed_in
from claims.rules import is_business_day, notes_deadline
from contracts.payers import CATALOGUE

STATES = ["NY", "NC", "MA", "TX", "CA", "FL", "IL", "NJ"]
PAYERS = [p.id for p in CATALOGUE]
DOS = date(2026, 6, 1)


@settings(deadline=None)  # no timing assertions: the first call loads the holiday calendar
@given(st.dates(min_value=date(2025, 1, 1), max_value=date(2030, 12, 31)))
def test_notes_deadline_is_the_third_business_day_after_the_request(start: date) -> None:
    deadline = notes_deadline(start)
    assert is_business_day(deadline)
    days = [start + timedelta(days=n) for n in range(1, (deadline - start).days + 1)]
    assert sum(1 for d in days if is_business_day(d)) == 3


licences = st.lists(
    st.builds(Licence, st.sampled_from(STATES), st.sampled_from([date(2026, 1, 1), date(2027, 1, 1)]))
)
credentials = st.lists(
    st.builds(
        Credential, st.sampled_from(PAYERS), st.sampled_from(STATES), st.sampled_from(["standard", "virtual"])
    )
)


@settings(max_examples=300, deadline=None)
@given(
    payer=st.sampled_from(CATALOGUE),
    state=st.sampled_from(STATES),
    kind=st.sampled_from(["residence", "temporary"]),
    lics=licences,
    creds=credentials,
    crisis=st.none()
    | st.builds(CrisisClaim, st.sampled_from(["90839", "90834"]), st.booleans(), st.booleans()),
)
def test_routing_decisions_are_consistent(payer, state, kind, lics, creds, crisis) -> None:  # type: ignore[no-untyped-def]
    d = decide(
        payer=payer,
        client_state=state,
        location_kind=kind,
        date_of_service=DOS,
        licences=lics,
        credentials=creds,
        crisis=crisis,
    )
    # a refusal always says why; a confirmation never carries reasons
    assert d.billable == (not d.reasons)
    assert d.billable == (d.route is not None)
    if d.billable and d.route != "crisis_only":
        assert licensed_in(lics, state, DOS)
    if d.route == "crisis_only":
        assert not licensed_in(lics, state, DOS)
        assert kind == "temporary"
    if d.route in ("bluecard", "virtual_network"):
        assert payer.kind == "bcbs"
        assert state not in payer.home_states
    if d.route == "home_plan":
        assert state in payer.home_states
