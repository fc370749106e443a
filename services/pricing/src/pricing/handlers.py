"""Events the pricing service consumes."""

from __future__ import annotations

from typing import Any

from kit.messaging.consumer import Subscription

SUBSCRIPTIONS: list[Subscription[Any]] = []
