"""`python -m devstack run` starts the whole system (what `make run` calls)."""

from __future__ import annotations

import sys

from devstack.stack import run


def main() -> None:
    command = sys.argv[1] if len(sys.argv) > 1 else "run"
    if command != "run":
        raise SystemExit(f"unknown command {command!r}; usage: python -m devstack run")
    run()


if __name__ == "__main__":
    main()
