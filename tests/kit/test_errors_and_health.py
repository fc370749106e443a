"""Every error is RFC 9457 problem+json, validation errors never echo the input, health endpoints report
the database and the broker."""

from __future__ import annotations

from kit.db import Database
from kit.settings import KitSettings
from kit.testing.helpers import running_app
from kit.testing.plugin import SettingsFactory
from tests.kit.demo import count, create_demo_app, notes


async def test_validation_error_is_problem_json_without_echoing_input(
    make_settings: SettingsFactory, demo_db: Database
) -> None:
    async with running_app(create_demo_app(make_settings(KitSettings, service_name="kitdemo"))) as client:
        response = await client.post("/notes", params={"home_state": "NY", "fail": "Jane-Doe-1970-01-01"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"].endswith("/validation-error")
    assert body["errors"][0]["field"] == "query.fail"
    assert "Jane-Doe" not in response.text
    assert await count(demo_db, notes) == 0


async def test_unknown_path_is_problem_json(make_settings: SettingsFactory, demo_db: Database) -> None:
    async with running_app(create_demo_app(make_settings(KitSettings, service_name="kitdemo"))) as client:
        response = await client.get("/nope")
    assert response.status_code == 404
    assert response.json()["status"] == 404


async def test_readyz_reports_database_and_broker(make_settings: SettingsFactory, demo_db: Database) -> None:
    ok = make_settings(KitSettings, service_name="kitdemo", run_relay=True)
    async with running_app(create_demo_app(ok)) as client:
        ready = await client.get("/readyz")
        alive = await client.get("/healthz")
        metrics = await client.get("/metrics")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}
    assert alive.json() == {"status": "ok"}
    assert "parity_http_request_duration_seconds" in metrics.text

    broken = make_settings(
        KitSettings,
        service_name="kitdemo",
        run_relay=True,
        kafka_bootstrap_servers="127.0.0.1:1",
        database_url="postgresql+asyncpg://postgres@127.0.0.1:1/none",
    )
    async with running_app(create_demo_app(broken)) as client:
        not_ready = await client.get("/readyz")
    assert not_ready.status_code == 503
    assert not_ready.json()["checks"]["broker"] == "unavailable"
    assert not_ready.json()["checks"]["database"].startswith("unavailable")


async def test_request_id_is_returned_and_generated_when_missing(
    make_settings: SettingsFactory, demo_db: Database
) -> None:
    async with running_app(create_demo_app(make_settings(KitSettings, service_name="kitdemo"))) as client:
        given = await client.get("/healthz", headers={"x-request-id": "abc-123"})
        generated = await client.get("/healthz")
        hostile = await client.get("/healthz", headers={"x-request-id": "bad id\nwith newline"})
    assert given.headers["x-request-id"] == "abc-123"
    assert len(generated.headers["x-request-id"]) == 32
    assert hostile.headers["x-request-id"] != "bad id\nwith newline"


async def test_api_only_process_stays_ready_without_the_broker(
    make_settings: SettingsFactory, demo_db: Database
) -> None:
    api_only = make_settings(KitSettings, service_name="kitdemo", kafka_bootstrap_servers="127.0.0.1:1")
    async with running_app(create_demo_app(api_only)) as client:
        ready = await client.get("/readyz")
        written = await client.post("/notes", params={"home_state": "NY"})
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok"}
    assert written.status_code == 201  # the event waits in the outbox for a relay


async def test_value_the_database_refuses_is_a_422_not_a_500(
    make_settings: SettingsFactory, demo_db: Database
) -> None:
    async with running_app(create_demo_app(make_settings(KitSettings, service_name="kitdemo"))) as client:
        response = await client.post(
            "/notes", params={"home_state": "TOO-LONG"}
        )  # the column holds 2 characters
    assert response.status_code == 422
    assert response.json()["type"].endswith("/invalid-value")
    assert await count(demo_db, notes) == 0


async def test_service_resources_are_closed_when_the_service_stops(make_settings: SettingsFactory) -> None:
    from kit.runtime import Runtime
    from tests.kit.demo import messaging as demo_messaging

    runtime = Runtime.build(make_settings(KitSettings, service_name="kitdemo"), demo_messaging)
    closed: list[str] = []

    async def close_pool() -> None:
        closed.append("pool")

    async def broken() -> None:
        raise RuntimeError("a closer that fails must not stop the others")

    runtime.on_stop(close_pool)
    runtime.on_stop(broken)
    await runtime.stop()
    assert closed == ["pool"]
