"""The billing routing rule, case by case (the seed article's examples by name)."""

from __future__ import annotations

from datetime import date

from claims.routing import Credential, CrisisClaim, Decision, Licence, LocationKind, decide, guidance
from contracts.payers import BY_ID

DOS = date(2026, 3, 2)
NEXT_YEAR = date(2027, 12, 31)


def _decide(
    payer_id: str,
    state: str,
    licences: list[str],
    credentials: list[tuple[str, str, str]],
    *,
    kind: LocationKind = "residence",
    crisis: CrisisClaim | None = None,
) -> Decision:
    return decide(
        payer=BY_ID[payer_id],
        client_state=state,
        location_kind=kind,
        date_of_service=DOS,
        licences=[Licence(s, NEXT_YEAR) for s in licences],
        credentials=[Credential(p, s, n) for p, s, n in credentials],  # type: ignore[arg-type]
        crisis=crisis,
    )


def test_commercial_plan_needs_licence_and_credential_in_the_clients_state() -> None:
    d = _decide("aetna", "CA", ["CA"], [("aetna", "CA", "standard")])
    assert d == Decision(True, "standard", [])


def test_licensed_but_not_credentialed_in_the_clients_state_is_refused() -> None:
    # The article: licensed and credentialed in CA, licensed (not credentialed) in NY -> only CA clients.
    creds = [("aetna", "CA", "standard")]
    assert _decide("aetna", "CA", ["CA", "NY"], creds).billable
    d = _decide("aetna", "NY", ["CA", "NY"], creds)
    assert not d.billable
    assert d.reasons == ["You are not credentialed with Aetna in NY."]


def test_credentialed_but_not_licensed_is_refused_naming_the_licence() -> None:
    d = _decide("aetna", "NY", [], [("aetna", "NY", "standard")])
    assert not d.billable
    assert d.reasons == ["You do not hold an active licence in NY, where the client is during this session."]


def test_expired_licence_does_not_count() -> None:
    d = decide(
        payer=BY_ID["aetna"],
        client_state="NY",
        location_kind="residence",
        date_of_service=DOS,
        licences=[Licence("NY", date(2026, 3, 1))],
        credentials=[Credential("aetna", "NY")],
    )
    assert not d.billable
    assert "active licence in NY" in d.reasons[0]


def test_every_unmet_condition_is_named() -> None:
    d = _decide("aetna", "TX", ["CA"], [("aetna", "CA", "standard")])
    assert d.reasons == [
        "You do not hold an active licence in TX, where the client is during this session.",
        "You are not credentialed with Aetna in TX.",
    ]


def test_bcbs_home_plan_client_inside_service_area_needs_that_plan_in_that_state() -> None:
    assert _decide("bcbs-nc", "NC", ["NC"], [("bcbs-nc", "NC", "standard")]) == Decision(
        True, "home_plan", []
    )


def test_bcbs_home_plan_not_credentialed_with_that_plan_is_refused() -> None:
    d = _decide("bcbs-nc", "NC", ["NC"], [("anthem-bcbs-ny", "NC", "standard")])
    assert not d.billable
    assert "home service area (NC)" in d.reasons[0]


def test_bluecard_student_from_nc_studying_in_ny_seen_via_anthem_ny() -> None:
    # The article's example: Anthem BCBS NY credential + NY licence; BCBS NC member located in NY.
    d = _decide("bcbs-nc", "NY", ["NY"], [("anthem-bcbs-ny", "NY", "standard")], kind="temporary")
    assert d == Decision(True, "bluecard", [])


def test_bluecard_needs_the_licence_where_the_client_is() -> None:
    d = _decide("bcbs-nc", "NY", ["NC"], [("anthem-bcbs-ny", "NY", "standard")])
    assert not d.billable
    assert "active licence in NY" in d.reasons[0]


def test_bluecard_refused_when_not_credentialed_with_the_local_plan() -> None:
    d = _decide("bcbs-nc", "NY", ["NY"], [("bcbs-nc", "NC", "standard")])
    assert not d.billable
    assert any("local BCBS plan in NY" in r for r in d.reasons)
    assert any("virtual network in NY" in r for r in d.reasons)


def test_virtual_network_bcbs_ma_member_in_texas_without_local_texas_plan() -> None:
    # The article: credentialed with BCBS MA in TX via its virtual network, TX licence.
    d = _decide("bcbs-ma", "TX", ["TX"], [("bcbs-ma", "TX", "virtual")])
    assert d == Decision(True, "virtual_network", [])


def test_virtual_network_only_covers_that_plans_members() -> None:
    d = _decide("bcbs-nc", "TX", ["TX"], [("bcbs-ma", "TX", "virtual")])
    assert not d.billable


def test_virtual_network_only_covers_members_located_in_that_state() -> None:
    d = _decide("bcbs-ma", "CA", ["TX", "CA"], [("bcbs-ma", "TX", "virtual")])
    assert not d.billable


def test_virtual_network_still_needs_the_licence() -> None:
    d = _decide("bcbs-ma", "TX", [], [("bcbs-ma", "TX", "virtual")])
    assert not d.billable
    assert "active licence in TX" in d.reasons[0]


def test_vacation_in_an_unlicensed_state_is_refused() -> None:
    d = _decide("aetna", "FL", ["NY"], [("aetna", "NY", "standard")], kind="temporary")
    assert not d.billable
    assert "active licence in FL" in d.reasons[0]


def test_commuting_client_billable_where_they_are_during_the_session() -> None:
    # Lives in NJ, session while at work in NY: what counts is NY.
    d = _decide("aetna", "NY", ["NY"], [("aetna", "NY", "standard")], kind="temporary")
    assert d.billable


CRISIS_OK = CrisisClaim("90839", has_crisis_documentation=True, has_exact_address=True)


def test_crisis_session_away_from_home_confirms_as_crisis_only() -> None:
    d = _decide("aetna", "FL", ["NY"], [("aetna", "NY", "standard")], kind="temporary", crisis=CRISIS_OK)
    assert d == Decision(True, "crisis_only", [])


def test_crisis_session_needs_documentation_and_exact_address() -> None:
    crisis = CrisisClaim("90839", has_crisis_documentation=False, has_exact_address=False)
    d = _decide("aetna", "FL", ["NY"], [], kind="temporary", crisis=crisis)
    assert not d.billable
    assert len(d.reasons) == 3
    assert "documentation" in d.reasons[1]
    assert "exact address" in d.reasons[2]


def test_crisis_exception_needs_the_crisis_code() -> None:
    d = _decide("aetna", "FL", ["NY"], [], kind="temporary", crisis=CrisisClaim("90837", True, True))
    assert not d.billable


def test_moved_client_is_not_a_crisis_exception() -> None:
    d = _decide("aetna", "FL", ["NY"], [("aetna", "NY", "standard")], kind="residence", crisis=CRISIS_OK)
    assert not d.billable
    assert any("a move is not a crisis exception" in r for r in d.reasons)


def test_moved_client_is_refused_for_ordinary_sessions() -> None:
    d = _decide("aetna", "FL", ["NY"], [("aetna", "NY", "standard")], kind="residence")
    assert not d.billable


def test_guidance_offers_crisis_only_where_unlicensed_and_client_away() -> None:
    g = guidance(
        payer=BY_ID["aetna"],
        state="FL",
        location_kind="temporary",
        on=DOS,
        licences=[Licence("NY", NEXT_YEAR)],
        credentials=[Credential("aetna", "NY")],
    )
    assert (g.billable, g.route) == (False, "crisis_only")


def test_guidance_without_coverage_says_so() -> None:
    g = guidance(payer=None, state="NY", location_kind="residence", on=DOS, licences=[], credentials=[])
    assert not g.billable
    assert g.reasons == ["The client has no active insurance coverage on file."]
