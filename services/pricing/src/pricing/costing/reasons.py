"""Which of the article's reasons explains a cost change caused by new benefit data. Pure."""

from __future__ import annotations

from contracts.events import BenefitsChangeReason, BenefitValues, CostChangeReason

_DIRECT: dict[str, CostChangeReason] = {
    "new_plan": "new_plan",
    "plan_year_reset": "plan_year_reset",
    "corrected_data": "corrected_benefits",
    "deductible_met": "deductible_met",
    "out_of_pocket_met": "out_of_pocket_met",
}


def benefits_change_reason(
    reason: BenefitsChangeReason, old: BenefitValues | None, new: BenefitValues
) -> CostChangeReason:
    """Eligibility's reason when it is one the article names; otherwise read it off the values."""
    if reason in _DIRECT:
        return _DIRECT[reason]
    if old is not None and old.plan_year_start != new.plan_year_start:
        return "plan_year_reset"
    oop_met_now = new.out_of_pocket_met >= new.out_of_pocket_max
    if oop_met_now and (old is None or old.out_of_pocket_met < old.out_of_pocket_max):
        return "out_of_pocket_met"
    deductible_met_now = new.deductible_met >= new.deductible
    if deductible_met_now and (old is None or old.deductible_met < old.deductible):
        return "deductible_met"
    return "corrected_benefits"
