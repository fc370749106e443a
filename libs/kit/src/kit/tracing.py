"""OpenTelemetry tracing across the gateway, the services and Kafka (W3C `traceparent` in HTTP and message
headers). Off by default: with OTEL_EXPORTER=none the API is a no-op and costs next to nothing."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping

from opentelemetry import propagate, trace
from opentelemetry.context import Context

from kit.settings import KitSettings

tracer = trace.get_tracer("parity")
TRACE_HEADERS = ("traceparent", "tracestate")
_configured = False


def tracing_enabled() -> bool:
    """Whether this process exports spans (setup_tracing installed an exporter)."""
    return _configured


def setup_tracing(settings: KitSettings) -> None:
    """Install the exporter the settings ask for (once per process)."""
    global _configured
    if settings.otel_exporter == "none" or _configured:
        return
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

    exporter: SpanExporter
    if settings.otel_exporter == "console":
        exporter = ConsoleSpanExporter()
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = (
            OTLPSpanExporter(endpoint=settings.otel_endpoint)
            if settings.otel_endpoint
            else OTLPSpanExporter()
        )
    provider = TracerProvider(resource=Resource.create({"service.name": settings.service_name}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    _configured = True


def inject(carrier: MutableMapping[str, str]) -> MutableMapping[str, str]:
    """Add the current trace context to outgoing headers."""
    propagate.inject(carrier)
    return carrier


def extract(carrier: Mapping[str, str]) -> Context:
    """The trace context carried by incoming headers (empty when there is none)."""
    return propagate.extract(dict(carrier))
