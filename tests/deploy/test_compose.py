"""compose.yaml, checked without a Docker engine: every app is there, listens where the others dial it, is
health-checked, starts after what it needs, and is configured only through settings the code reads."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from fastapi import FastAPI

from tests.deploy.appconfig import (
    BROWSER_FACING,
    ROOT,
    SERVICES,
    build_settings,
    dialled,
    factory_of,
    for_command,
    load_factory,
)

COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
APPS: dict[str, dict[str, Any]] = COMPOSE["services"]
OUR_IMAGE = {name for name, app in APPS.items() if "build" in app}
LONG_RUNNING = {name for name, app in APPS.items() if app.get("restart") != "no"}
# Ports the third-party images listen on without being told (their documented defaults).
IMAGE_PORTS = {"postgres": {5432}, "mailpit": {1025, 8025}}
HEALTHY = {"service_healthy", "service_completed_successfully"}


def command(name: str) -> list[str]:
    return [str(a) for a in APPS[name].get("command", [])]


def listening_ports(name: str) -> set[int]:
    """The ports a compose app's process listens on."""
    app = APPS[name]
    cmd = command(name)
    if "--port" in cmd:
        return {int(cmd[cmd.index("--port") + 1])}
    if name == "kafka":
        return {int(m) for m in re.findall(r"://[^:,]*:(\d+)", app["environment"]["KAFKA_LISTENERS"])}
    return IMAGE_PORTS.get(name, set())


def environment(name: str) -> dict[str, str]:
    env = APPS[name].get("environment") or {}
    assert isinstance(env, dict), f"{name}: write environment as a mapping"
    return {k: str(v) for k, v in env.items()}


def depends(name: str) -> dict[str, str]:
    deps = APPS[name].get("depends_on") or {}
    assert isinstance(deps, dict), f"{name}: depends_on must name a condition for each dependency"
    return {k: v["condition"] for k, v in deps.items()}


def waits_for(name: str, target: str) -> bool:
    """True when `name` starts only after `target` is healthy or done, directly or through another step."""
    seen: set[str] = set()
    stack = [name]
    while stack:
        for dep, condition in depends(stack.pop()).items():
            if condition not in HEALTHY or dep in seen:
                continue
            if dep == target:
                return True
            seen.add(dep)
            stack.append(dep)
    return False


def test_every_service_gateway_sandbox_and_infrastructure_is_in_the_stack() -> None:
    expected = {*SERVICES, "gateway", "clearinghouse", "cardprocessor", "postgres", "kafka", "mailpit"}
    assert expected | {"migrate", "topics"} <= set(APPS)
    factories = {factory_of(command(n)) for n in OUR_IMAGE}
    assert {f"{s}.main:create_app" for s in SERVICES} | {"gateway.main:create_app"} <= factories


def test_kafka_is_the_official_image_as_one_kraft_node_without_topic_autocreation() -> None:
    kafka = APPS["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    env = environment("kafka")
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"].startswith("1@kafka:")
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"


@pytest.mark.parametrize("name", sorted(OUR_IMAGE))
def test_our_apps_are_built_from_the_one_dockerfile(name: str) -> None:
    build = APPS[name]["build"]
    assert build["dockerfile"] == "deploy/docker/Dockerfile"
    assert (ROOT / build["context"] / build["dockerfile"]).is_file()
    stages = re.findall(r"^FROM \S+ AS (\S+)", (ROOT / build["dockerfile"]).read_text(), re.MULTILINE)
    assert build["target"] in stages


@pytest.mark.parametrize("name", sorted(n for n in OUR_IMAGE if factory_of(command(n))))
def test_each_app_factory_exists_and_serves_its_healthcheck_path(name: str) -> None:
    factory = factory_of(command(name))
    assert factory is not None
    app = load_factory(factory)()  # type: ignore[operator]
    assert isinstance(app, FastAPI)
    test = [str(a) for a in APPS[name]["healthcheck"]["test"]]
    assert test[:3] == ["CMD", "python", "/app/deploy/healthcheck.py"]
    paths = {getattr(r, "path", None) for r in app.routes}
    assert test[3] in paths, f"{name} has no {test[3]} route"


@pytest.mark.parametrize("name", [*SERVICES, "gateway"])
def test_services_and_gateway_are_healthy_only_when_ready(name: str) -> None:
    assert APPS[name]["healthcheck"]["test"][-1] == "/readyz"


@pytest.mark.parametrize("name", sorted(LONG_RUNNING))
def test_every_long_running_container_has_a_healthcheck(name: str) -> None:
    check = APPS[name].get("healthcheck")
    assert check
    assert check.get("test")
    assert not check.get("disable")


def test_published_host_ports_are_unique_and_match_what_the_process_listens_on() -> None:
    host_ports: list[str] = []
    for name, app in APPS.items():
        for mapping in app.get("ports", []):
            *_, host, container = str(mapping).split(":")
            host_ports.append(host)
            assert int(container) in listening_ports(name), f"{name} publishes {container} it does not serve"
    assert len(host_ports) == len(set(host_ports))
    assert any(str(p).endswith("8000:8000") for p in APPS["gateway"]["ports"])
    assert any(str(p).endswith("8025:8025") for p in APPS["mailpit"]["ports"]), "mail catcher web UI"


@pytest.mark.parametrize("name", sorted(OUR_IMAGE))
def test_environment_sets_only_settings_the_code_reads(name: str) -> None:
    config = for_command(command(name))
    assert config is not None, f"{name}: unknown command {command(name)}"
    unread = set(environment(name)) - config.env_names()
    assert not unread, f"{name} sets variables its Settings never read: {sorted(unread)}"


@pytest.mark.parametrize("name", sorted(OUR_IMAGE))
def test_environment_sets_every_required_and_every_machine_local_setting(name: str) -> None:
    config = for_command(command(name))
    assert config is not None
    missing = config.must_set() - set(environment(name))
    assert not missing, f"{name} would run with defaults meant for one laptop: {sorted(missing)}"


@pytest.mark.parametrize("name", sorted(OUR_IMAGE))
def test_each_container_environment_is_accepted_by_its_settings(name: str) -> None:
    config = for_command(command(name))
    assert config is not None
    settings = build_settings(config, dict(environment(name)))
    if settings is not None:
        assert getattr(settings, "environment", "development") == "development"


@pytest.mark.parametrize("name", sorted(OUR_IMAGE))
def test_every_address_a_container_dials_is_an_app_of_the_stack_listening_there(name: str) -> None:
    for key, value in environment(name).items():
        if key in BROWSER_FACING:
            continue
        for host, port in dialled(value):
            assert host in APPS, f"{name}.{key} dials {host}, which is not in the stack"
            assert port in listening_ports(host), (
                f"{name}.{key} dials {host}:{port}; it listens on {listening_ports(host)}"
            )


@pytest.mark.parametrize("name", sorted(OUR_IMAGE))
def test_containers_start_after_the_infrastructure_and_sandboxes_they_dial_are_healthy(name: str) -> None:
    peers = set(SERVICES)
    for key, value in environment(name).items():
        for host, _ in dialled(value):
            if host in APPS and host not in peers and key not in BROWSER_FACING:
                assert waits_for(name, host), f"{name} dials {host} ({key}) before it is healthy"


@pytest.mark.parametrize("name", SERVICES)
def test_services_start_only_after_migrations_and_topics_are_done(name: str) -> None:
    deps = depends(name)
    assert deps.get("migrate") == "service_completed_successfully"
    assert deps.get("topics") == "service_completed_successfully"


def test_gateway_starts_after_every_service_it_routes_to_is_healthy() -> None:
    from gateway.routes import SERVICES as UPSTREAMS

    assert {s: "service_healthy" for s in UPSTREAMS}.items() <= depends("gateway").items()


def test_init_steps_run_once_and_services_restart() -> None:
    assert APPS["migrate"]["restart"] == "no"
    assert APPS["topics"]["restart"] == "no"
    assert all(APPS[s]["restart"] == "unless-stopped" for s in (*SERVICES, "gateway"))


def test_one_internal_token_is_shared_by_the_gateway_and_every_service() -> None:
    tokens = {environment(n)["INTERNAL_TOKEN"] for n in (*SERVICES, "gateway")}
    assert len(tokens) == 1


def test_topic_step_creates_topics_with_the_partitions_the_services_expect() -> None:
    partitions = {environment(n)["KAFKA_PARTITIONS"] for n in (*SERVICES, "topics")}
    assert len(partitions) == 1
