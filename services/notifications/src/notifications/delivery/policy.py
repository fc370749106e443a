"""When to try a failed e-mail again. Pure: no I/O."""

from __future__ import annotations

from datetime import datetime, timedelta


def retry_at(*, now: datetime, attempts: int, base_s: float, max_s: float) -> datetime:
    """Exponential backoff after the `attempts`-th failed try: base, 2x base, 4x base... capped."""
    delay = min(base_s * 2 ** max(attempts - 1, 0), max_s)
    return now + timedelta(seconds=delay)


def gives_up(*, attempts: int, max_attempts: int) -> bool:
    """A transient failure becomes final once the attempts are used up."""
    return attempts >= max_attempts
