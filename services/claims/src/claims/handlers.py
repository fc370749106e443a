"""Events the claims service consumes."""

from __future__ import annotations

from typing import Any

from claims.claim.service import on_cob_case_resolved
from claims.eligibility_view import on_client_status_changed, on_coverage_status_changed
from contracts.events import ClientStatusChanged, CobCaseResolved, CoverageStatusChanged
from kit.messaging.consumer import Subscription

SUBSCRIPTIONS: list[Subscription[Any]] = [
    Subscription(ClientStatusChanged, on_client_status_changed),
    Subscription(CoverageStatusChanged, on_coverage_status_changed),
    Subscription(CobCaseResolved, on_cob_case_resolved),
]
