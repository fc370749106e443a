"""Why benefits changed between two snapshots (pure): what pricing is told when it re-prices."""

from __future__ import annotations

from contracts.events import BenefitsChangeReason, BenefitValues

TERMS = ("copay", "coinsurance_rate", "deductible", "out_of_pocket_max", "prior_authorization_required")


def change_reason(
    old: BenefitValues | None, new: BenefitValues, *, same_coverage: bool
) -> BenefitsChangeReason | None:
    """None when nothing changed; otherwise the one reason that explains the difference best."""
    if old is None:
        return "first_verification"
    if not same_coverage:
        return "new_plan"
    if old == new:
        return None
    if new.plan_year_start != old.plan_year_start:
        return "plan_year_reset"
    if any(getattr(old, t) != getattr(new, t) for t in TERMS) or new.plan_year_end != old.plan_year_end:
        return "corrected_data"
    if new.deductible_met < old.deductible_met or new.out_of_pocket_met < old.out_of_pocket_met:
        # accumulators do not go down within a plan year: the payer corrected its data
        return "corrected_data"
    if new.out_of_pocket_met >= new.out_of_pocket_max > old.out_of_pocket_met:
        return "out_of_pocket_met"
    if new.deductible_met >= new.deductible > old.deductible_met:
        return "deductible_met"
    return "accumulators_updated"
