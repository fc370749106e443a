"""Metrics of the notifications service (the kit's metrics cover HTTP, outbox, consumers and SMTP latency)."""

from __future__ import annotations

from prometheus_client import Counter

EMAILS = Counter(
    "parity_emails_total",
    "E-mails by outcome: sent, failed (permanent or out of retries), retried (transient), suppressed",
    ["status"],
)
