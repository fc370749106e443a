"""Business days: weekdays that are not US federal holidays. Pure."""

from __future__ import annotations

from datetime import date, timedelta

import holidays

_FEDERAL = holidays.country_holidays("US", years=range(2020, 2041))


def add_business_days(start: date, days: int) -> date:
    """The date `days` business days after `start`."""
    day = start
    left = days
    while left > 0:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in _FEDERAL:
            left -= 1
    return day
