"""The image (deploy/docker/Dockerfile) and the scripts it ships, run for real against this test run's
PostgreSQL and broker: migrations bring every schema to head, the wait check tells, topics get created."""

from __future__ import annotations

import asyncio
import glob
import importlib.util
import re
import sys
import tomllib
import uuid
from collections.abc import Iterator
from types import ModuleType

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from contracts import DLQ_SUFFIX, all_topics
from kit.messaging.relay import asyncpg_dsn
from kit.testing.plugin import Infra
from tests.deploy.appconfig import ROOT

DOCKERFILE = (ROOT / "deploy/docker/Dockerfile").read_text()
INSTRUCTIONS = [line.strip() for line in re.sub(r"\\\n\s*", " ", DOCKERFILE).splitlines()]
STAGES = [i for i, line in enumerate(INSTRUCTIONS) if line.startswith("FROM ")]
FINAL_STAGE = INSTRUCTIONS[STAGES[-1] :]


def script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"deploy_{name}", ROOT / "deploy/docker" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def workspace_members() -> list[str]:
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["uv"]["workspace"]["members"]
    found = [
        m for p in patterns for m in glob.glob(p, root_dir=ROOT) if (ROOT / m / "pyproject.toml").is_file()
    ]
    return sorted(found)


def copied_sources() -> list[str]:
    return [part for line in INSTRUCTIONS if line.startswith("COPY ") for part in line.split()[1:-1]]


def test_image_is_multi_stage_and_runs_as_an_unprivileged_user() -> None:
    assert len(STAGES) >= 2
    users = [line.split()[1] for line in FINAL_STAGE if line.startswith("USER ")]
    assert users, "the runtime stage must switch user"
    assert users[-1].split(":")[0] not in {"0", "root"}


def test_image_installs_the_workspace_from_the_lock_without_dev_tools() -> None:
    syncs = [line for line in INSTRUCTIONS if "uv sync" in line]
    assert syncs
    assert all("--frozen" in s and "--no-dev" in s for s in syncs)
    assert "uv.lock" in copied_sources()


def test_image_copies_every_workspace_member() -> None:
    sources = copied_sources()
    for member in workspace_members():
        assert f"{member}/pyproject.toml" in sources, f"{member}'s dependencies are not installed"
        assert any(member == s or member.startswith(s.rstrip("/") + "/") for s in sources if "." not in s), (
            f"{member}'s source is not copied"
        )


def test_every_file_the_image_copies_from_the_repository_exists() -> None:
    for line in INSTRUCTIONS:
        if line.startswith("COPY ") and "--from=" not in line:
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), source


def test_image_has_a_healthcheck_that_uses_the_shipped_script() -> None:
    checks = [line for line in FINAL_STAGE if line.startswith("HEALTHCHECK ")]
    assert checks
    assert "/app/deploy/healthcheck.py" in checks[0]
    assert any("deploy/docker/healthcheck.py" in line for line in FINAL_STAGE if line.startswith("COPY "))


@pytest.mark.parametrize(
    ("argv", "port"),
    [
        (["uvicorn", "--factory", "claims.main:create_app", "--host", "0.0.0.0", "--port", "8102"], 8102),
        (["uvicorn", "--port=8201", "--factory", "x:y"], 8201),
        (["uvicorn", "--factory", "gateway.main:create_app"], 8000),
    ],
)
def test_healthcheck_probes_the_port_the_container_command_listens_on(argv: list[str], port: int) -> None:
    assert script("healthcheck").port_from_cmdline(argv) == port


def test_migration_step_migrates_every_schema_the_test_fixtures_and_make_run_migrate() -> None:
    from kit.testing.plugin import MIGRATED_PACKAGES

    assert set(script("migrate").SERVICES) == set(MIGRATED_PACKAGES)


@pytest.fixture
def empty_database(infra: Infra) -> Iterator[str]:
    """A database with nothing in it, as a fresh deployment's PostgreSQL has."""
    name = f"parity_deploy_{uuid.uuid4().hex[:10]}"

    async def admin(statement: str) -> None:
        conn = await asyncpg.connect(asyncpg_dsn(infra.admin_url))
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    yield infra.url_for(name)
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_migration_step_brings_every_service_schema_to_head_and_the_wait_check_sees_it(
    empty_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    migrate = script("migrate")
    monkeypatch.setenv("DATABASE_URL", empty_database)
    assert migrate.main(["--wait", "claims", "--timeout", "0"]) == 1  # nothing migrated yet
    assert migrate.main([]) == 0
    for service in migrate.SERVICES:
        assert migrate.is_migrated(service, empty_database), service
        assert migrate.main(["--wait", service, "--timeout", "0"]) == 0
    assert migrate.main([]) == 0  # running it again is harmless


def test_topic_step_creates_every_contract_topic_and_a_small_dead_letter_topic(
    infra: Infra, monkeypatch: pytest.MonkeyPatch
) -> None:
    topics = script("topics")
    prefix = f"d{uuid.uuid4().hex[:8]}."
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", infra.kafka)
    monkeypatch.setenv("KAFKA_TOPIC_PREFIX", prefix)
    monkeypatch.setenv("KAFKA_PARTITIONS", "4")
    assert topics.main(["--timeout", "30"]) == 0
    assert topics.main(["--timeout", "30"]) == 0  # idempotent

    async def partitions() -> dict[str, int]:
        admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka)
        await admin.start()
        try:
            described = await admin.describe_topics([prefix + t for t in all_topics()])
        finally:
            await admin.close()
        return {d["topic"][len(prefix) :]: len(d["partitions"]) for d in described}

    counts = asyncio.run(partitions())
    events = all_topics(with_dlq=False)
    assert {t: counts.get(t) for t in events} == dict.fromkeys(events, 4)
    assert {t + DLQ_SUFFIX: counts.get(t + DLQ_SUFFIX) for t in events} == {
        t + DLQ_SUFFIX: topics.DLQ_PARTITIONS for t in events
    }
