"""`make run`: the whole system on one machine, supervised; one Ctrl-C stops everything.

Embedded PostgreSQL (data under .data/pg), the Tansu broker and a local SMTP server start unless
DATABASE_URL, KAFKA_BOOTSTRAP_SERVERS and SMTP_URL point at external ones.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from devstack.infra import Managed, create_database, start_broker, start_postgres, stop_all, wait_for_port
from kit.server import SERVER_FLAGS

ROOT = Path.cwd()
DATA = ROOT / ".data"


@dataclass(frozen=True)
class App:
    name: str
    factory: str
    port_env: str
    default_port: int


SANDBOXES = (
    App("clearinghouse", "sandbox.clearinghouse.app:create_app", "CLEARINGHOUSE_PORT", 8201),
    App("cardprocessor", "sandbox.cardprocessor.app:create_app", "CARD_PROCESSOR_PORT", 8202),
)
SERVICES = (
    App("eligibility", "eligibility.main:create_app", "ELIGIBILITY_PORT", 8101),
    App("claims", "claims.main:create_app", "CLAIMS_PORT", 8102),
    App("pricing", "pricing.main:create_app", "PRICING_PORT", 8103),
    App("notifications", "notifications.main:create_app", "NOTIFICATIONS_PORT", 8104),
)
GATEWAY = App("gateway", "gateway.main:create_app", "GATEWAY_PORT", 8000)
MIGRATED = ("eligibility", "claims", "pricing", "notifications", "gateway")


def log(msg: str) -> None:
    print(f"[parity] {msg}", flush=True)


class Stack:
    """The processes of the system. Tests reuse it with an env that points at their own infrastructure."""

    def __init__(self, env: dict[str, str] | None = None, log_dir: Path | None = None) -> None:
        self.infra: list[Managed] = []
        self.children: dict[str, tuple[App, subprocess.Popen[bytes]]] = {}
        self.env = dict(os.environ if env is None else env)
        # Children compile our sources once into .data/pycache instead of on every start (a machine that sets
        # PYTHONDONTWRITEBYTECODE would otherwise pay seconds per process start, and restart).
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)
        self.env.setdefault("PYTHONPYCACHEPREFIX", str(DATA / "pycache"))
        self.log_dir = log_dir
        self.stopping = False

    def port(self, app: App) -> int:
        return int(self.env.get(app.port_env, app.default_port))

    def start_infra(self) -> None:
        DATA.mkdir(exist_ok=True)
        # The development token issuer (POST /dev/tokens, `python -m gateway.devtokens`); never in production.
        self.env.setdefault("DEV_ISSUER_ENABLED", "true")
        self.env.setdefault("DEV_ISSUER_KEY_FILE", str(DATA / "dev-issuer-key.pem"))
        # Development pace: jobs run often and the clock can be moved by ops (`make demo` does).
        for key, value in {
            "CLOCK": "controllable",
            "JOB_INTERVAL_S": "2",
            "CLAIM_SUBMIT_INTERVAL_S": "2",
            "REMITTANCE_POLL_INTERVAL_S": "2",
            "NOTES_DEADLINE_INTERVAL_S": "5",
        }.items():
            self.env.setdefault(key, value)
        if not self.env.get("DATABASE_URL"):
            pg, base = start_postgres(DATA / "pg", port=int(self.env.get("POSTGRES_PORT", 54329)))
            self.infra.append(pg)
            self.env["DATABASE_URL"] = create_database(base, "parity")
            log(f"PostgreSQL (embedded) on {base.rsplit('@', 1)[-1]}, data in .data/pg")
        if not self.env.get("KAFKA_BOOTSTRAP_SERVERS"):
            broker, bootstrap = start_broker(port=int(self.env.get("KAFKA_PORT", 19092)), log_dir=DATA)
            self.infra.append(broker)
            self.env["KAFKA_BOOTSTRAP_SERVERS"] = bootstrap
            log(f"Tansu broker (embedded, memory engine) on {bootstrap}")
        if not self.env.get("SMTP_URL"):
            smtp_port = int(self.env.get("SMTP_PORT", 2525))
            http_port = int(self.env.get("MAIL_UI_PORT", 8025))
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "devstack.mail",
                    "--smtp-port",
                    str(smtp_port),
                    "--http-port",
                    str(http_port),
                    "--dir",
                    str(DATA / "mail"),
                ],
                start_new_session=True,
            )
            wait_for_port(smtp_port, timeout=20, proc=proc, what="SMTP server")
            self.infra.append(Managed("smtp", proc))
            self.env["SMTP_URL"] = f"smtp://127.0.0.1:{smtp_port}"
            log(f"SMTP server on 127.0.0.1:{smtp_port}, mail catcher at http://127.0.0.1:{http_port}")
        for app in (*SERVICES, *SANDBOXES):
            key = {"clearinghouse": "CLEARINGHOUSE_URL", "cardprocessor": "CARD_PROCESSOR_URL"}.get(
                app.name, f"{app.name.upper()}_URL"
            )
            self.env.setdefault(key, f"http://127.0.0.1:{self.port(app)}")

    def prepare(self) -> None:
        """Migrations and topics before any service accepts traffic."""
        from kit.migrations import upgrade

        for package in MIGRATED:
            upgrade(package, self.env["DATABASE_URL"])
        log("migrations applied")
        self.create_topics()

    def spawn(self, app: App) -> None:
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            app.factory,
            "--host",
            self.env.get("BIND_HOST", "127.0.0.1"),
            "--port",
            str(self.port(app)),
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        cmd += SERVER_FLAGS  # as production runs every app (kit.server)
        out = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            out = open(self.log_dir / f"{app.name}.log", "ab")  # noqa: SIM115 - the child owns it
        proc = subprocess.Popen(
            cmd, env=self.env, start_new_session=True, stdout=out, stderr=subprocess.STDOUT if out else None
        )
        self.children[app.name] = (app, proc)

    def wait_ready(self, apps: tuple[App, ...], path: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        pending = list(apps)
        with httpx.Client(timeout=2) as client:
            while pending and time.monotonic() < deadline:
                for app in list(pending):
                    try:
                        if client.get(f"http://127.0.0.1:{self.port(app)}{path}").status_code == 200:
                            pending.remove(app)
                    except httpx.HTTPError:
                        pass
                time.sleep(0.2)
        if pending:
            raise RuntimeError(f"not ready after {timeout}s: {', '.join(a.name for a in pending)}")

    def revive_infra(self) -> None:
        """A dead embedded broker comes back with its topics; a dead PostgreSQL comes back on its data."""
        for i, managed in enumerate(self.infra):
            if managed.proc.poll() is None or self.stopping:
                continue
            log(f"{managed.name} exited with code {managed.proc.returncode}; restarting")
            if managed.name == "broker":
                port = int(self.env["KAFKA_BOOTSTRAP_SERVERS"].rsplit(":", 1)[1])
                self.infra[i], _ = start_broker(port=port, log_dir=DATA)
                self.create_topics()
            elif managed.name == "postgres":
                port = int(self.env.get("POSTGRES_PORT", 54329))
                self.infra[i], _ = start_postgres(DATA / "pg", port=port)

    def create_topics(self) -> None:
        from kit.messaging.kafka import ensure_topics
        from kit.settings import KitSettings

        settings = KitSettings(
            kafka_bootstrap_servers=self.env["KAFKA_BOOTSTRAP_SERVERS"],
            kafka_topic_prefix=self.env.get("KAFKA_TOPIC_PREFIX", ""),
        )
        topics = asyncio.run(ensure_topics(settings))
        log(f"{len(topics)} topics ready")

    def start_apps(self) -> None:
        """Sandboxes, then services, then the gateway, each waited for before the next."""
        sandboxes = tuple(
            a for a in SANDBOXES if importlib.util.find_spec(a.factory.split(":")[0]) is not None
        )
        for app in sandboxes:
            self.spawn(app)
        self.wait_ready(sandboxes, "/healthz")
        for app in SERVICES:
            self.spawn(app)
        self.wait_ready(SERVICES, "/readyz")
        self.spawn(GATEWAY)
        self.wait_ready((GATEWAY,), "/readyz")

    def supervise(self) -> None:
        """Restart a child that dies; return when asked to stop."""
        backoff: dict[str, float] = {}
        while not self.stopping:
            self.revive_infra()
            for name, (app, proc) in list(self.children.items()):
                if proc.poll() is not None and not self.stopping:
                    delay = backoff.get(name, 0.5)
                    log(f"{name} exited with code {proc.returncode}; restarting in {delay:.1f}s")
                    time.sleep(delay)
                    backoff[name] = min(delay * 2, 30)
                    self.spawn(app)
            time.sleep(0.5)

    def stop(self) -> None:
        self.stopping = True
        for _, proc in self.children.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for _, proc in self.children.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        stop_all(self.infra)


def run() -> None:
    stack = Stack()

    def on_signal(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    try:
        stack.start_infra()
        stack.prepare()
        sandboxes = tuple(
            a for a in SANDBOXES if importlib.util.find_spec(a.factory.split(":")[0]) is not None
        )
        for app in sandboxes:
            stack.spawn(app)
        stack.wait_ready(sandboxes, "/healthz")
        for app in SERVICES:
            stack.spawn(app)
        stack.wait_ready(SERVICES, "/readyz")
        stack.spawn(GATEWAY)
        stack.wait_ready((GATEWAY,), "/readyz")
        gw = f"http://127.0.0.1:{stack.port(GATEWAY)}"
        log(f"gateway:    {gw}")
        log(f"API docs:   {gw}/docs")
        log(f"event docs: {gw}/asyncapi (JSON: {gw}/asyncapi.json)")
        log(
            f"dev tokens: curl -XPOST {gw}/dev/tokens -H 'content-type: application/json' -d '{{\"role\":\"ops\"}}'"
        )
        log("Ctrl-C stops everything.")
        stack.supervise()
    except KeyboardInterrupt:
        log("stopping...")
    finally:
        stack.stop()
        log("stopped.")
