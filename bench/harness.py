"""What every benchmark needs: the embedded PostgreSQL and broker, services in uvicorn subprocesses on free
ports, resident memory of those processes, wrk as a load generator in its own process, nginx as a reference
proxy, and a report that prints figures (benchmarks never pass or fail)."""

from __future__ import annotations

import contextlib
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psutil

from devstack.infra import Managed, create_database, free_port, start_broker, start_postgres, stop_all
from kit.server import SERVER_FLAGS

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024


def server_flags() -> tuple[str, ...]:
    """How production runs every app (kit.server); BENCH_SERVER=stock runs uvicorn's own httptools protocol,
    to measure what kit.server's saves."""
    mode = os.environ.get("BENCH_SERVER", "kit")
    if mode not in ("kit", "stock"):
        raise ValueError(f"BENCH_SERVER={mode!r}: kit or stock")
    return SERVER_FLAGS if mode == "kit" else ("--loop", "uvloop", "--http", "httptools")


def machine() -> str:
    """One line naming the machine the figures were taken on."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = psutil.virtual_memory().total / (1024**3)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{now}; {os.cpu_count()} CPUs ({cpu}); {mem:.0f} GiB RAM; Python {platform.python_version()}; "
        f"load average before the run {load}"
    )


@dataclass
class Report:
    """Figures collected by benchmarks: printed as they come, summarised by run_all."""

    sections: list[tuple[str, list[str]]] = field(default_factory=list)
    memory: list[tuple[str, str, float]] = field(default_factory=list)  # (benchmark, process, MiB)

    def section(self, title: str, lines: list[str]) -> None:
        self.sections.append((title, lines))
        print(f"\n## {title}", flush=True)
        for line in lines:
            print(line, flush=True)

    def rss(self, benchmark: str, when: str, processes: dict[str, Managed]) -> None:
        for name, managed in processes.items():
            mib = rss_mib(managed)
            self.memory.append((benchmark, f"{name} {when}", mib))
            print(f"  RSS {name:<14} {when:<22} {mib:7.1f} MiB", flush=True)

    def memory_table(self) -> list[str]:
        lines = ["| benchmark | process, when | RSS (MiB) |", "|---|---|---:|"]
        lines += [f"| {b} | {p} | {m:.1f} |" for b, p, m in self.memory]
        return lines


def rss_mib(managed: Managed) -> float:
    """Resident memory of a process and its children (nginx workers, uvicorn reloaders)."""
    try:
        proc = psutil.Process(managed.proc.pid)
        total = proc.memory_info().rss
        for child in proc.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                total += child.memory_info().rss
    except psutil.Error:
        return 0.0
    return total / MIB


def own_cpu_seconds() -> float:
    """CPU time (user + system) of this process: the benchmark's load driver (and what else runs in it)."""
    times = psutil.Process().cpu_times()
    return times.user + times.system


def cpu_seconds(processes: dict[str, Managed]) -> dict[str, float]:
    """CPU time (user + system) each process has used so far."""
    out = {}
    for name, managed in processes.items():
        try:
            proc = psutil.Process(managed.proc.pid)
            total = 0.0
            # PostgreSQL's work happens in its backends, nginx's in its workers: count the live children too.
            for p in [proc, *proc.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    times = p.cpu_times()
                    total += times.user + times.system
            out[name] = total
        except psutil.Error:
            out[name] = float("nan")
    return out


def cpu_line(
    before: dict[str, float], after: dict[str, float], per: int, unit: str, *, scale: float = 1.0
) -> str:
    """Where the CPU went during a run, per unit of work (ms), busiest first; `scale` multiplies each figure
    (1 / seconds for a rate). Processes that used less than 10 ms in all are left out."""
    used = sorted(((after[k] - before[k], k) for k in before), reverse=True)
    return f"CPU ms per {unit}: " + ", ".join(
        f"{k} {1000 * v * scale / per:.1f}" for v, k in used if v > 0.01
    )


class Stack(contextlib.AbstractContextManager["Stack"]):
    """The processes one benchmark starts; all stopped on exit, whatever happened."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.processes: list[Managed] = []
        self.services: dict[str, Managed] = {}
        self.workdir = Path(tempfile.mkdtemp(prefix=f"parity-bench-{name}-"))
        self.env = dict(os.environ)
        self.env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
        # Services compile the whole stack on every start when bytecode may not be written; cache it outside
        # the tree instead.
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)
        self.env.setdefault("PYTHONPYCACHEPREFIX", str(Path(tempfile.gettempdir()) / "parity-pycache"))

    def __exit__(self, *exc: object) -> None:
        profiled = self.services.get(os.environ.get("BENCH_PROFILE_SERVICE", ""))
        if profiled is not None:  # uvicorn re-raises SIGTERM and dies by it; SIGINT lets cProfile write
            profiled.proc.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                profiled.proc.wait(30)
        for managed in reversed(list(self.services.values())):
            with contextlib.suppress(Exception):
                managed.stop()
        for prof in self.workdir.glob("*.prof"):
            import pstats

            kept = Path(tempfile.gettempdir()) / f"bench-{self.name}-{prof.name}"
            shutil.copy(prof, kept)
            print(f"\n## Profile of {prof.stem} (kept in {kept})", flush=True)
            pstats.Stats(str(prof)).sort_stats("tottime").print_stats(25)
            pstats.Stats(str(prof)).sort_stats("cumulative").print_stats(50)
        stop_all(self.processes)
        if os.environ.get("BENCH_KEEP_LOGS") == "1":
            kept = Path(tempfile.gettempdir()) / f"bench-logs-{self.name}"
            shutil.rmtree(kept, ignore_errors=True)
            shutil.copytree(self.workdir, kept, ignore=shutil.ignore_patterns("*.prof", "mail", "nginx"))
            print(f"logs kept in {kept}", flush=True)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def everything(self) -> dict[str, Managed]:
        """Every process this benchmark started, infrastructure included."""
        return {**{m.name: m for m in self.processes}, **self.services}

    def start_postgres(self, database: str = "parity") -> str:
        # BENCH_PG_STATS=1: statement statistics (pg_stat_statements) for benchmarks that print them.
        stats = {"shared_preload_libraries": "pg_stat_statements", "pg_stat_statements.track": "all"}
        pg, base = start_postgres(config=stats if os.environ.get("BENCH_PG_STATS") == "1" else None)
        self.processes.append(pg)
        url = create_database(base, database)
        self.env["DATABASE_URL"] = url
        return url

    def start_broker(self) -> str:
        broker, bootstrap = start_broker(log_dir=self.workdir)
        self.processes.append(broker)
        self.env["KAFKA_BOOTSTRAP_SERVERS"] = bootstrap
        return bootstrap

    def spawn(
        self,
        name: str,
        factory: str,
        *,
        env: dict[str, str] | None = None,
        ready_path: str = "/healthz",
        port: int | None = None,
        args: tuple[str, ...] = (),
    ) -> str:
        """Start `uvicorn --factory <factory>` as the services run in production (`server_flags`; `args`: more
        uvicorn options); returns its base URL."""
        port = port or free_port()
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            factory,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]
        cmd += ["--no-access-log", "--log-level", "warning", *server_flags(), *args]
        if name == os.environ.get("BENCH_PROFILE_SERVICE"):  # cProfile the whole process, printed on exit
            cmd[1:1] = ["-m", "cProfile", "-o", str(self.workdir / f"{name}.prof")]
        log = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115
        proc = subprocess.Popen(
            cmd, env={**self.env, **(env or {})}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.services[name] = Managed(name, proc)
        url = f"http://127.0.0.1:{port}"
        wait_http(url + ready_path, proc=proc, what=name, log=self.workdir / f"{name}.log")
        return url

    def start_nginx(self, upstream: str) -> str:
        """nginx as a reference reverse proxy: one worker, keep-alive upstream connections."""
        ensure_tools()
        port = free_port()
        up = upstream.removeprefix("http://")
        d = self.workdir / "nginx"
        d.mkdir()
        temps = "\n".join(
            f"  {k}_temp_path {d}/{k};" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        (d / "nginx.conf").write_text(
            f"""worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
{temps}
  upstream svc {{ server {up}; keepalive 256; }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://svc;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }}
  }}
}}
"""
        )
        proc = subprocess.Popen(
            [nginx_bin(), "-p", str(d), "-c", str(d / "nginx.conf"), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.services["nginx"] = Managed("nginx", proc)
        url = f"http://127.0.0.1:{port}"
        wait_http(url + "/healthz", proc=proc, what="nginx", log=d / "error.log")
        return url


def wait_http(url: str, *, proc: subprocess.Popen[bytes], what: str, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
                raise RuntimeError(f"{what} exited with code {proc.returncode}:\n{tail}")
            with contextlib.suppress(httpx.HTTPError):
                if client.get(url).status_code == 200:
                    return
            time.sleep(0.1)
    raise TimeoutError(f"{what} did not answer 200 on {url} within {timeout}s")


def nginx_bin() -> str:
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin") or "nginx"


def ensure_tools() -> None:
    """wrk and nginx from Debian, installed the first time a benchmark needs them."""
    if shutil.which("wrk") and shutil.which("nginx", path=os.environ.get("PATH", "") + ":/usr/sbin"):
        return
    apt = ["apt-get", "install", "-y", "--no-install-recommends", "nginx", "wrk"]
    if subprocess.run(apt, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update"], capture_output=True, check=True)
        subprocess.run(apt, capture_output=True, check=True)


@dataclass(frozen=True)
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url: str, *, connections: int, duration_s: float, headers: dict[str, str] | None = None) -> Load:
    """Run wrk (one thread, its own process) against `url`; non-2xx answers and socket errors are errors."""
    ensure_tools()
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{duration_s:g}s", "--latency", "--timeout", "10s"]
    for k, v in (headers or {}).items():
        cmd += ["-H", f"{k}: {v}"]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    pct = {
        m[0]: float(m[1]) * _UNITS[m[2]]
        for m in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    }
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors += int(non2xx.group(1)) if non2xx else 0
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return Load(rps=rps, p50_ms=pct["50"], p99_ms=pct["99"], requests=requests, errors=errors)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) by nearest rank."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]
