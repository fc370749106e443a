"""Small pure rules: notes deadlines in business days, clawback classification, COB denial codes."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from typing import Literal

import holidays

NOTES_BUSINESS_DAYS = 3

RecoupmentCause = Literal[
    # our error: the platform absorbs the loss
    "network_status_misrepresented",
    "benefits_changed_undetected",
    "authorization_unknown",
    # the provider's error: recouped from the provider
    "coding_not_compliant",
    "codes_do_not_match_notes",
    "notes_not_supplied",
    "no_response_to_dispute",
]
Responsibility = Literal["platform", "provider"]

PLATFORM_CAUSES = frozenset(
    {"network_status_misrepresented", "benefits_changed_undetected", "authorization_unknown"}
)

# CARC 22: "may be covered by another payer per coordination of benefits"; 23: "impact of prior payer(s)
# adjudication". Both mean the payer thinks another plan is primary.
COB_CARCS = frozenset({"22", "23"})


@lru_cache(maxsize=64)
def _federal_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("US", years=year))


def is_business_day(day: date) -> bool:
    """Monday to Friday and not a US federal holiday (observed dates included)."""
    return day.weekday() < 5 and day not in _federal_holidays(day.year)


def add_business_days(start: date, days: int) -> date:
    """The date `days` business days after `start` (weekends and US federal holidays skipped)."""
    current = start
    left = days
    while left > 0:
        current += timedelta(days=1)
        if is_business_day(current):
            left -= 1
    return current


def notes_deadline(requested_on: date) -> date:
    """A notes request must be answered by the end of this day."""
    return add_business_days(requested_on, NOTES_BUSINESS_DAYS)


def classify_recoupment(cause: RecoupmentCause) -> Responsibility:
    """Who bears a payer's clawback: the platform for our errors, the provider for theirs."""
    return "platform" if cause in PLATFORM_CAUSES else "provider"


def is_cob_denial(carc_codes: list[str]) -> bool:
    return any(code in COB_CARCS for code in carc_codes)
