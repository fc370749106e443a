"""Docker HEALTHCHECK for any Parity container: GET a path on the port the container's uvicorn listens on.

    python /app/deploy/healthcheck.py /readyz

The port is read from the uvicorn command line of PID 1 (`--port N`), so one image serves every app
without a per-app setting; 8000 when there is none. Exit 0 on HTTP 200, 1 otherwise. Standard library only.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request
from pathlib import Path

DEFAULT_PORT = 8000


def port_from_cmdline(argv: list[str]) -> int:
    """The value of `--port N` or `--port=N` in a command line, else the default."""
    for i, arg in enumerate(argv):
        if arg == "--port" and i + 1 < len(argv):
            return int(argv[i + 1])
        if arg.startswith("--port="):
            return int(arg.split("=", 1)[1])
    return DEFAULT_PORT


def pid1_cmdline() -> list[str]:
    try:
        raw = Path("/proc/1/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode() for part in raw.split(b"\0") if part]


def check(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (http on loopback)
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def main(argv: list[str]) -> int:
    path = argv[1] if len(argv) > 1 else "/healthz"
    port = port_from_cmdline(pid1_cmdline())
    return 0 if check(f"http://127.0.0.1:{port}{path}") else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
