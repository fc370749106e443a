"""Starting the things benchmarks measure: a migrated database with topics, a read service (eligibility's
`GET /v1/payers`, or the stand-in while it is not there), and the gateway with a development token."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util

import httpx

from bench.harness import Stack
from kit.settings import KitSettings
from kit.testing.helpers import as_role

IDENTITY = as_role("ops", subject="bench")  # what the gateway forwards for a verified ops caller
MIGRATED = ("eligibility", "claims", "pricing", "notifications", "gateway")


def prepare_database(stack: Stack, packages: tuple[str, ...] = MIGRATED) -> list[str]:
    """Migrations of every package that has them and imports cleanly; returns the ones applied."""
    from kit.migrations import upgrade

    applied = []
    for package in packages:
        if importlib.util.find_spec(package) is None:
            continue
        try:
            upgrade(package, stack.env["DATABASE_URL"])
        except Exception as exc:
            print(f"  (migrations of {package} not applied: {type(exc).__name__}: {exc})", flush=True)
            continue
        applied.append(package)
    return applied


def create_topics(stack: Stack, prefix: str = "") -> None:
    from kit.messaging.kafka import ensure_topics

    settings = KitSettings(
        kafka_bootstrap_servers=stack.env["KAFKA_BOOTSTRAP_SERVERS"], kafka_topic_prefix=prefix
    )
    asyncio.run(ensure_topics(settings))


def start_read_service(stack: Stack) -> tuple[str, str]:
    """Eligibility when it serves `GET /v1/payers`, else the stand-in; returns (name, base URL)."""
    with contextlib.suppress(Exception):
        url = stack.spawn("eligibility", "eligibility.main:create_app")
        if httpx.get(url + "/v1/payers", headers=IDENTITY, timeout=5).status_code == 200:
            return "eligibility", url
        stack.services.pop("eligibility").stop()
    return "bench-upstream", stack.spawn("bench-upstream", "bench.upstream:create_app")


def gateway_env(stack: Stack, upstream: str) -> dict[str, str]:
    """The gateway pointed at `upstream` for eligibility paths, its development issuer on, limits out of the way
    (the benchmark measures forwarding, not the rate limiter refusing one load generator)."""
    return {
        "ELIGIBILITY_URL": upstream,
        "DEV_ISSUER_ENABLED": "true",
        "DEV_ISSUER_KEY_FILE": str(stack.workdir / "dev-issuer-key.pem"),
        "RATE_LIMIT_PER_IP": "100000000/minute",
        "RATE_LIMIT_PER_IDENTITY": "100000000/minute",
    }


def bearer(stack: Stack) -> dict[str, str]:
    """An ops token from the gateway's development issuer (the same key file the gateway loads)."""
    try:
        from gateway.config import Settings
        from gateway.devtokens import DevIssuer
    except ImportError:
        return {}
    settings = Settings(
        dev_issuer_enabled=True, dev_issuer_key_file=str(stack.workdir / "dev-issuer-key.pem")
    )
    return {"authorization": f"Bearer {DevIssuer.load(settings).mint(role='ops')}"}


SERVICES = ("eligibility", "claims", "pricing", "notifications")


def start_smtp(stack: Stack) -> str:
    """The local SMTP catcher (devstack.mail); returns its HTTP view's base URL."""
    import subprocess
    import sys

    from devstack.infra import Managed, free_port, wait_for_port

    smtp_port, http_port = free_port(), free_port()
    cmd = [
        sys.executable,
        "-m",
        "devstack.mail",
        "--smtp-port",
        str(smtp_port),
        "--http-port",
        str(http_port),
    ]
    cmd += ["--dir", str(stack.workdir / "mail")]
    proc = subprocess.Popen(cmd, env=stack.env, stdout=subprocess.DEVNULL, start_new_session=True)
    wait_for_port(smtp_port, timeout=30, proc=proc, what="SMTP server")
    stack.services["smtp"] = Managed("smtp", proc)
    stack.env["SMTP_URL"] = f"smtp://127.0.0.1:{smtp_port}"
    return f"http://127.0.0.1:{http_port}"


def start_everything(
    stack: Stack,
    *,
    smtp_url: str | None = None,
    service_env: dict[str, dict[str, str]] | None = None,
    services: tuple[str, ...] = SERVICES,
    api_processes: dict[str, int] | None = None,
) -> dict[str, str]:
    """Database, broker, SMTP, both sandboxes, the four services (or those named) and the gateway, as
    `make run` starts them, on free ports; returns every base URL by name.

    `api_processes` runs a service as production does (deploy/k8s: API pods with the relay, consumers and
    jobs off, and a process for those): that many uvicorn workers answer its port, and `<name>-worker` runs
    its background work. 0 (the default) runs everything in one process."""
    from devstack.infra import free_port

    stack.start_postgres()
    stack.start_broker()
    prepare_database(stack)
    create_topics(stack)
    if smtp_url:
        stack.env["SMTP_URL"] = urls_mail = smtp_url
    else:
        urls_mail = start_smtp(stack)
    urls = {"mail": urls_mail}
    extra = service_env or {}
    ports = {name: free_port() for name in (*SERVICES, "clearinghouse", "cardprocessor", "gateway")}
    for name, port in ports.items():
        key = {"cardprocessor": "CARD_PROCESSOR_URL"}.get(name, f"{name.upper()}_URL")
        stack.env[key] = urls[name] = f"http://127.0.0.1:{port}"
    stack.spawn(
        "clearinghouse",
        "sandbox.clearinghouse.app:create_app",
        port=ports["clearinghouse"],
        env=extra.get("clearinghouse"),
    )
    stack.spawn("cardprocessor", "sandbox.cardprocessor.app:create_app", port=ports["cardprocessor"])
    for name in services:
        processes = (api_processes or {}).get(name, 0)
        if not processes:
            stack.spawn(
                name, f"{name}.main:create_app", port=ports[name], ready_path="/readyz", env=extra.get(name)
            )
            continue
        off = {"RUN_RELAY": "false", "RUN_CONSUMERS": "false", "RUN_SCHEDULER": "false"}
        stack.spawn(
            name,
            f"{name}.main:create_app",
            port=ports[name],
            ready_path="/readyz",
            env={**extra.get(name, {}), **off},
            args=("--workers", str(processes)) if processes > 1 else (),
        )
        stack.spawn(f"{name}-worker", f"{name}.main:create_app", ready_path="/readyz", env=extra.get(name))
    stack.spawn(
        "gateway",
        "gateway.main:create_app",
        port=ports["gateway"],
        env=gateway_env(stack, urls["eligibility"]),
    )
    return urls
