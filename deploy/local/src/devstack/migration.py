"""`make migration SERVICE=x MSG=y`: autogenerate a migration for one service against a throwaway database."""

from __future__ import annotations

import sys

from devstack.infra import create_database, start_postgres
from kit.migrations import revision, upgrade


def main(service: str, message: str) -> None:
    pg, base = start_postgres(fast=True)
    try:
        url = create_database(base, "migration")
        upgrade(service, url)
        revision(service, url, message)
    finally:
        pg.stop()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
