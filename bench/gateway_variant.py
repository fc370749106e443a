"""The gateway with another upstream client, to compare against the shipped `make_client` under load.
`BENCH_GATEWAY_CLIENT=shipped|httpx|httpx-pool-<n>|aiohttp uvicorn --factory bench.gateway_variant:create_app`

shipped: gateway.proxy.make_client as it is; httpx: httpx's own pool with the gateway's limits (what make_client
was before it moved to aiohttp); httpx-pool-<n>: httpx with n connections; aiohttp: one AiohttpTransport."""

from __future__ import annotations

import os

import httpx
from fastapi import FastAPI

import gateway.main
from gateway.config import Settings
from gateway.proxy import make_client


def _client(settings: Settings) -> httpx.AsyncClient:
    variant = os.environ.get("BENCH_GATEWAY_CLIENT", "shipped")
    if variant == "shipped":
        return make_client(settings)
    timeout = httpx.Timeout(settings.upstream_read_timeout_s, connect=settings.upstream_connect_timeout_s)
    if variant == "httpx":
        limits = httpx.Limits(
            max_connections=settings.upstream_max_connections,
            max_keepalive_connections=settings.upstream_max_keepalive,
        )
        return httpx.AsyncClient(timeout=timeout, limits=limits, follow_redirects=False)
    if variant.startswith("httpx-pool-"):
        n = int(variant.removeprefix("httpx-pool-"))
        limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
        return httpx.AsyncClient(timeout=timeout, limits=limits, follow_redirects=False)
    if variant == "aiohttp":
        from gateway.transport import AiohttpTransport

        return httpx.AsyncClient(
            transport=AiohttpTransport(max_connections=settings.upstream_max_connections),
            timeout=timeout,
            follow_redirects=False,
        )
    raise ValueError(f"unknown BENCH_GATEWAY_CLIENT {variant!r}")


def create_app() -> FastAPI:
    gateway.main.make_client = _client
    return gateway.main.create_app()
