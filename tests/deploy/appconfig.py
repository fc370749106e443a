"""What each deployable reads from its environment, taken from the code (pydantic Settings), so the deploy
files are checked against the settings the processes actually read rather than against a copied list."""

from __future__ import annotations

import importlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from unittest import mock
from urllib.parse import urlsplit

from pydantic_settings import BaseSettings

from kit.settings import KitSettings

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("eligibility", "claims", "pricing", "notifications")
LOOPBACK = ("127.0.0.1", "localhost", "[::1]")
# Settings a process puts in front of a browser (links in e-mails), never dialled from inside the stack.
BROWSER_FACING = {"FRONTEND_URL", "SUPPORT_URL"}
FACTORY = re.compile(r"[a-z_][\w.]*:[a-z_]\w*")
SCRIPT_SETTINGS = {"/app/deploy/migrate.py": "migrate", "/app/deploy/topics.py": "topics"}


@dataclass(frozen=True)
class AppConfig:
    """One process kind: the Settings model it builds, and which of its settings it dials."""

    name: str
    settings: type[BaseSettings] | None  # None: reads no settings (the sandboxes)
    uses: frozenset[str] | None = None  # settings it reads; None means every field of `settings`

    def env_names(self) -> set[str]:
        """Every environment variable the Settings model reads."""
        if self.settings is None:
            return set()
        prefix = str(self.settings.model_config.get("env_prefix") or "")
        names = set()
        for name, field in self.settings.model_fields.items():
            alias = field.validation_alias if isinstance(field.validation_alias, str) else field.alias
            names.add((alias or f"{prefix}{name}").upper())
        return names

    def must_set(self) -> set[str]:
        """Env vars a container must set: required fields, and used fields whose default is this machine."""
        if self.settings is None:
            return set()
        needed = set()
        for name, field in self.settings.model_fields.items():
            used = self.uses is None or name in self.uses
            loopback = isinstance(field.default, str) and any(h in field.default for h in LOOPBACK)
            if field.is_required() or (used and loopback):
                needed.add(name.upper())
        return needed


def for_factory(factory: str) -> AppConfig:
    """The AppConfig of `uvicorn --factory <package>.<module>:<callable>`."""
    package = factory.split(":", 1)[0].split(".", 1)[0]
    if package == "sandbox":
        return AppConfig(factory, None)
    settings = importlib.import_module(f"{package}.config").Settings
    if package == "gateway":
        from gateway.routes import SERVICES as UPSTREAMS

        own = set(settings.model_fields) - set(KitSettings.model_fields)
        return AppConfig(
            "gateway", settings, frozenset({f"{s}_url" for s in UPSTREAMS} | own | {"database_url"})
        )
    return AppConfig(package, settings)


def for_script(script: str) -> AppConfig:
    """The AppConfig of an init script of deploy/docker (they read KitSettings)."""
    kind = SCRIPT_SETTINGS[script]
    uses = {"migrate": {"database_url"}, "topics": {"kafka_bootstrap_servers"}}[kind]
    return AppConfig(kind, KitSettings, frozenset(uses))


def for_command(command: list[str]) -> AppConfig | None:
    """The AppConfig of a container command of our image; None for a command of another image."""
    factory = factory_of(command)
    if factory is not None:
        return for_factory(factory)
    for arg in command:
        if arg in SCRIPT_SETTINGS:
            return for_script(arg)
    return None


def dialled(value: str) -> list[tuple[str, int]]:
    """The (host, port) pairs a setting's value makes a process connect to (URLs, host:port lists)."""
    if "://" in value:
        parts = urlsplit(value)
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
        return [(parts.hostname, port)] if parts.hostname and port else []
    pairs = [p.strip().rpartition(":") for p in value.split(",")]
    return [(h, int(p)) for h, _, p in pairs if h and p.isdigit()]


def factory_of(command: list[str]) -> str | None:
    """The `module:callable` a `uvicorn --factory` command line runs (options may stand in between)."""
    if "uvicorn" not in command or "--factory" not in command:
        return None
    return next((a for a in command if FACTORY.fullmatch(a)), None)


def load_factory(factory: str) -> object:
    module, _, attr = factory.partition(":")
    return getattr(importlib.import_module(module), attr)


SECRET_PLACEHOLDER = {
    "DATABASE_URL": "postgresql+asyncpg://role:secret@pgbouncer:6432/parity",
    "SMTP_URL": "smtp://user:secret@smtp.example.com:587?starttls=true",
}


def build_settings(config: AppConfig, env: dict[str, str | None]) -> BaseSettings | None:
    """The Settings a process builds from exactly this environment (raises when it would refuse to start)."""
    if config.settings is None:
        return None
    values = {k: v if v is not None else SECRET_PLACEHOLDER.get(k, "secret") for k, v in env.items()}
    with mock.patch.dict(os.environ, values, clear=True):
        return config.settings(_env_file=None)
