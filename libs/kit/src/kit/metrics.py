"""Prometheus metrics shared by every service (labelled by service, so one process can host several)."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response

HTTP_REQUESTS = Histogram(
    "parity_http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
OUTBOX_BACKLOG = Gauge("parity_outbox_backlog", "Outbox rows not yet published", ["service"])
OUTBOX_OLDEST_AGE = Gauge(
    "parity_outbox_oldest_age_seconds", "Age of the oldest unpublished row", ["service"]
)
OUTBOX_PUBLISHED = Counter("parity_outbox_published_total", "Events published by the relay", ["service"])
OUTBOX_PUBLISH_ERRORS = Counter(
    "parity_outbox_publish_errors_total", "Relay batches that failed", ["service"]
)
EVENTS_CONSUMED = Counter(
    "parity_events_consumed_total", "Events handled by consumers", ["service", "consumer", "topic", "outcome"]
)
CONSUMER_LAG = Gauge(
    "parity_consumer_lag", "Messages behind the partition end", ["service", "consumer", "topic"]
)
DLQ_MESSAGES = Counter(
    "parity_dlq_messages_total", "Events sent to a dead-letter topic", ["service", "topic"]
)
AUDIT_WRITE_FAILURES = Counter(
    "parity_audit_write_failures_total",
    "Audit batches the database refused: unavailable (kept for the next try) or refused_row (written one by one)",
    ["kind"],
)
AUDIT_QUARANTINED = Counter(
    "parity_audit_quarantined_total",
    "Audit entries the database refused even escaped, stored without their text",
)
AUDIT_DROPPED = Counter(
    "parity_audit_dropped_total", "Audit entries dropped because the pending queue was full"
)
UPSTREAM_LATENCY = Histogram(
    "parity_upstream_request_duration_seconds",
    "Latency of calls to external parties (clearinghouse, card processor, SMTP)",
    ["service", "upstream", "outcome"],
)


async def metrics_endpoint(_: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
