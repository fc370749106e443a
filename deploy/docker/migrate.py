"""The migration step (compose `migrate`, the k8s Job) and the wait-for-it check (the k8s init container).

    python /app/deploy/migrate.py                 # upgrade every service's schema to head
    python /app/deploy/migrate.py --wait claims   # block until claims' schema is at head

DATABASE_URL is read the way the services read it (KitSettings). The database may start after us, so
connection failures are retried until --timeout seconds have passed.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import sys
import time
from collections.abc import Callable
from typing import TypeVar

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from kit.migrations import alembic_config, upgrade
from kit.settings import KitSettings

T = TypeVar("T")

# Every package with a schema of its own (the gateway keeps its audit log and idempotency keys).
SERVICES = ("eligibility", "claims", "pricing", "notifications", "gateway")

log = logging.getLogger("parity.migrate")


def head_revisions(package: str, database_url: str) -> set[str]:
    """The revisions a fully migrated schema of `package` is at."""
    return set(ScriptDirectory.from_config(alembic_config(package, database_url)).get_heads())


async def current_revisions(package: str, database_url: str) -> set[str]:
    """The revisions the database's schema of `package` is at (empty when never migrated)."""

    def read(connection: Connection) -> set[str]:
        context = MigrationContext.configure(connection, opts={"version_table_schema": package})
        return set(context.get_current_heads())

    engine = create_async_engine(database_url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(read)
    finally:
        await engine.dispose()


def is_migrated(package: str, database_url: str) -> bool:
    return asyncio.run(current_revisions(package, database_url)) == head_revisions(package, database_url)


def retry(what: str, action: Callable[[], T], timeout: float) -> T:
    """Run `action` until it succeeds or `timeout` seconds pass (the database may still be starting)."""
    deadline = time.monotonic() + timeout
    delay = 0.5
    while True:
        try:
            return action()
        except Exception as exc:
            if time.monotonic() >= deadline:
                raise
            log.warning("%s failed (%s); retrying in %.1fs", what, type(exc).__name__, delay)
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--wait", metavar="SERVICE", choices=SERVICES, help="wait until SERVICE is at head")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to keep retrying (default 300)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    url = KitSettings().database_url

    if args.wait:
        deadline = time.monotonic() + args.timeout
        while not retry("reading the schema version", lambda: is_migrated(args.wait, url), args.timeout):
            if time.monotonic() >= deadline:
                log.error("%s is not migrated to head after %.0fs", args.wait, args.timeout)
                return 1
            time.sleep(2)
        log.info("%s is at head", args.wait)
        return 0

    for package in SERVICES:
        retry(f"migrating {package}", functools.partial(upgrade, package, url), args.timeout)
        log.info("%s migrated to head", package)
    return 0


if __name__ == "__main__":
    sys.exit(main())
