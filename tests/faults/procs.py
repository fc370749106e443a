"""Real processes for fault tests: services under uvicorn that can be killed with SIGKILL and started again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devstack.infra import free_port

ROOT = Path(__file__).resolve().parents[2]


class Proc:
    """One uvicorn process serving `factory` on a fixed port, so a restart keeps its address."""

    def __init__(self, name: str, factory: str, env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.factory = factory
        self.env = env
        self.port = free_port()
        self.log = log_dir / f"{name}-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, wait: bool = True, **extra_env: str) -> Proc:
        env = {**os.environ, **self.env, **extra_env}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
        # Children compile the whole stack on every start when bytecode may not be written (8 s instead of 1 s
        # on a busy machine); keep their bytecode out of the tree instead.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.setdefault("PYTHONPYCACHEPREFIX", str(Path(tempfile.gettempdir()) / "parity-pycache"))
        cmd = [sys.executable, "-m", "uvicorn", "--factory", self.factory, "--host", "127.0.0.1"]
        cmd += ["--port", str(self.port), "--no-access-log", "--log-level", "warning"]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                cmd, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        if not wait:
            return self
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited ({self.proc.returncode}): {self.log.read_text()[-2000:]}"
                )
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise TimeoutError(f"{self.name} did not start")

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def wait_exit(self, timeout: float = 20) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


class Launcher:
    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.procs: list[Proc] = []

    def __call__(self, name: str, factory: str, env: dict[str, str]) -> Proc:
        proc = Proc(name, factory, env, self.log_dir)
        self.procs.append(proc)
        return proc


@pytest.fixture
def launch() -> Iterator[Launcher]:
    """Make processes; every one still running is stopped when the test ends."""
    launcher = Launcher(Path(tempfile.mkdtemp(prefix="parity-faults-")))
    try:
        yield launcher
    finally:
        for proc in launcher.procs:
            proc.stop()


def demo_env(
    database_url: str, bootstrap: str, prefix: str, *, relay: bool, consumers: bool
) -> dict[str, str]:
    """Settings of the demo service as a process, as the test fixtures set them for in-process apps."""
    return {
        "ENVIRONMENT": "test",
        "LOG_LEVEL": "WARNING",
        "DATABASE_URL": database_url,
        "DATABASE_POOL_SIZE": "5",
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "KAFKA_TOPIC_PREFIX": prefix,
        "KAFKA_PARTITIONS": "3",
        "KAFKA_SESSION_TIMEOUT_MS": "1000",
        "RELAY_POLL_INTERVAL_S": "0.05",
        "CONSUMER_RETRY_BACKOFF_S": "0.01",
        "RUN_RELAY": str(relay).lower(),
        "RUN_CONSUMERS": str(consumers).lower(),
        "RUN_SCHEDULER": "false",
    }


def metric(url: str, name: str, **labels: str) -> float:
    """Sum of a Prometheus sample of a running process whose labels include `labels`."""
    total = 0.0
    for line in httpx.get(url + "/metrics", timeout=5).text.splitlines():
        if not line.startswith(name + "{"):
            continue
        head, _, value = line.rpartition(" ")
        if all(f'{k}="{v}"' in head for k, v in labels.items()):
            total += float(value)
    return total
