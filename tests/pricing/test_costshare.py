"""The cost-share engine, proved on examples and on every input hypothesis can find."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from pricing.costing.costshare import Accumulators, PlanTerms, cost_share

D = Decimal
money = st.decimals(min_value=0, max_value=5000, places=2, allow_nan=False, allow_infinity=False)
rate = st.decimals(min_value=0, max_value=1, places=2, allow_nan=False, allow_infinity=False)


@st.composite
def terms(draw: st.DrawFn) -> PlanTerms:
    kind = draw(st.sampled_from(["copay", "coinsurance", "neither"]))
    return PlanTerms(
        deductible=draw(money),
        out_of_pocket_max=draw(money),
        copay=draw(money) if kind == "copay" else None,
        coinsurance_rate=draw(rate) if kind == "coinsurance" else None,
    )


accumulators = st.builds(Accumulators, deductible_met=money, out_of_pocket_met=money)


@given(allowed=money, t=terms(), met=accumulators)
def test_shares_add_up_to_the_allowed_amount_and_are_never_negative(
    allowed: Decimal, t: PlanTerms, met: Accumulators
) -> None:
    share = cost_share(allowed=allowed, terms=t, met=met)
    assert share.client + share.plan == allowed
    assert share.client >= 0
    assert share.plan >= 0


@given(allowed=money, t=terms(), met=accumulators)
def test_client_never_pays_more_than_the_out_of_pocket_room(
    allowed: Decimal, t: PlanTerms, met: Accumulators
) -> None:
    share = cost_share(allowed=allowed, terms=t, met=met)
    assert share.client <= max(D(0), t.out_of_pocket_max - met.out_of_pocket_met)


@given(allowed=money, t=terms(), met=accumulators, more_deductible=money, more_oop=money)
def test_client_share_is_monotone_in_what_was_already_met(
    allowed: Decimal, t: PlanTerms, met: Accumulators, more_deductible: Decimal, more_oop: Decimal
) -> None:
    before = cost_share(allowed=allowed, terms=t, met=met)
    further = Accumulators(met.deductible_met + more_deductible, met.out_of_pocket_met + more_oop)
    after = cost_share(allowed=allowed, terms=t, met=further)
    assert after.client <= before.client


@given(allowed=money, t=terms(), met=accumulators)
def test_accumulators_grow_by_exactly_what_the_client_pays(
    allowed: Decimal, t: PlanTerms, met: Accumulators
) -> None:
    share = cost_share(allowed=allowed, terms=t, met=met)
    assert share.after.out_of_pocket_met - met.out_of_pocket_met == share.client
    assert 0 <= share.after.deductible_met - met.deductible_met <= share.client


def test_deductible_comes_first_then_the_copay() -> None:
    t = PlanTerms(deductible=D("100.00"), out_of_pocket_max=D("3000.00"), copay=D("20.00"))
    share = cost_share(allowed=D("150.00"), terms=t, met=Accumulators(D("40.00"), D("40.00")))
    assert share.client == D("80.00")  # 60 left of the deductible, then the 20 copay
    assert share.after.deductible_met == D("100.00")


def test_coinsurance_applies_to_what_is_left_after_the_deductible() -> None:
    t = PlanTerms(deductible=D("100.00"), out_of_pocket_max=D("3000.00"), coinsurance_rate=D("0.20"))
    share = cost_share(allowed=D("150.00"), terms=t, met=Accumulators())
    assert share.client == D("110.00")  # 100 deductible + 20% of 50


def test_nothing_to_pay_once_the_out_of_pocket_maximum_is_met() -> None:
    t = PlanTerms(deductible=D("500.00"), out_of_pocket_max=D("1000.00"), copay=D("30.00"))
    share = cost_share(allowed=D("150.00"), terms=t, met=Accumulators(D("500.00"), D("1000.00")))
    assert share.client == 0
    assert share.plan == D("150.00")


def test_out_of_pocket_maximum_caps_the_share() -> None:
    t = PlanTerms(deductible=D("500.00"), out_of_pocket_max=D("1000.00"), copay=D("30.00"))
    share = cost_share(allowed=D("150.00"), terms=t, met=Accumulators(D("450.00"), D("990.00")))
    assert share.client == D("10.00")
