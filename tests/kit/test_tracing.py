"""Tracing: a request's trace continues into the events it causes and the consumer that handles them."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from kit.db import Database
from kit.settings import KitSettings
from kit.testing.helpers import eventually, running_app
from kit.testing.plugin import SettingsFactory
from tests.kit.demo import create_demo_app

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
exporter = InMemorySpanExporter()


def _install_provider() -> None:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)  # first call wins for the process; later calls are ignored


async def test_trace_follows_request_into_event_headers_and_consumer(
    make_settings: SettingsFactory, demo_db: Database
) -> None:
    _install_provider()
    settings = make_settings(KitSettings, service_name="kitdemo", run_relay=True, run_consumers=True)
    async with running_app(create_demo_app(settings)) as client:
        response = await client.post(
            "/notes",
            params={"home_state": "NY"},
            headers={"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"},
        )
        assert response.status_code == 201

        async def consumer_span() -> list:  # type: ignore[type-arg]
            return [
                s
                for s in exporter.get_finished_spans()
                if s.name.startswith("consume parity.client.registered")
            ]

        consumed = await eventually(consumer_span, what="the consumer's span")
    server = [s for s in exporter.get_finished_spans() if s.name == "POST /notes"]
    assert server
    assert format(server[-1].context.trace_id, "032x") == TRACE_ID
    assert format(consumed[-1].context.trace_id, "032x") == TRACE_ID
