"""Idempotency keys on every POST that moves money or creates a claim, enforced at the door.

Same key and same body: the stored response is replayed. Same key, different body: 422. The same key while
the first request is still in flight: 409. A request that failed upstream (5xx) releases its key so it can be
retried. Keys are scoped to the caller's identity. Services that move money (pricing's payments) also keep
their own keys inside their transaction; this layer makes the behaviour uniform for every such route.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.sql import func
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from gateway.models import idempotency_keys
from gateway.routes import Route
from kit.db import Database
from kit.errors import problem

# POSTs that move money or create a claim.
REQUIRED: tuple[Route, ...] = (
    Route("/v1/clients/*/payments", "pricing"),
    Route("/v1/sessions", "claims"),
    Route("/v1/remittances", "claims"),
    Route("/v1/claims/*/recoupments", "claims"),
)
HEADER = "idempotency-key"
REPLAYED_HEADER = "idempotent-replayed"


def requires_key(path: str) -> bool:
    """Whether a POST to this (concrete or template) path must carry an Idempotency-Key."""
    return any(
        r.matches(path) and len(path.strip("/").split("/")) == len(r.pattern.strip("/").split("/"))
        for r in REQUIRED
    )


def required_for(request: Request) -> bool:
    return request.method == "POST" and requires_key(request.url.path)


async def with_idempotency(
    request: Request, subject: str, db: Database, call: Callable[[], Awaitable[Response]]
) -> Response:
    """Run `call` at most once per (subject, Idempotency-Key); replay or refuse repeats."""
    path = request.url.path
    key = request.headers.get(HEADER, "").strip()
    if not key or len(key) > 200:
        return problem(
            400,
            "idempotency-key-required",
            "Idempotency-Key required",
            "This request moves money or creates a claim: send an Idempotency-Key header (at most 200 characters).",
            path,
        )
    body = await request.body()
    digest = hashlib.sha256(request.method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()
    t = idempotency_keys
    async with db.session() as session:
        claimed = await session.execute(
            pg_insert(t)
            .values(subject=subject, key=key, method=request.method, path=path, request_hash=digest)
            .on_conflict_do_nothing()
            .returning(t.c.key)
        )
        first = claimed.first() is not None
        existing = None
        if not first:
            existing = (
                (await session.execute(select(t).where(t.c.subject == subject, t.c.key == key)))
                .mappings()
                .first()
            )
    if existing is not None:
        if existing["request_hash"] != digest:
            return problem(
                422,
                "idempotency-key-reused",
                "Idempotency-Key reused",
                "This Idempotency-Key was already used with a different request.",
                path,
            )
        if existing["completed_at"] is None:
            return problem(
                409,
                "idempotency-in-progress",
                "Request in progress",
                "A request with this Idempotency-Key is still being processed; retry shortly.",
                path,
                headers={"Retry-After": "1"},
            )
        headers = {**(existing["response_headers"] or {}), REPLAYED_HEADER: "true"}
        return Response(existing["response_body"] or b"", status_code=existing["status"], headers=headers)

    try:
        response = await call()
        if isinstance(response, StreamingResponse):
            chunks = [chunk async for chunk in response.body_iterator]
            content = b"".join(
                c if isinstance(c, bytes) else bytes(c) if isinstance(c, memoryview) else c.encode()
                for c in chunks
            )
        else:  # a problem the door answered itself (413, 502, 504)
            content = bytes(response.body)
    except BaseException:
        async with db.session() as session:
            await session.execute(delete(t).where(t.c.subject == subject, t.c.key == key))
        raise
    headers = {
        k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "x-request-id")
    }
    async with db.session() as session:
        if response.status_code >= 500:
            await session.execute(delete(t).where(t.c.subject == subject, t.c.key == key))
        else:
            await session.execute(
                update(t)
                .where(t.c.subject == subject, t.c.key == key)
                .values(
                    status=response.status_code,
                    response_headers=headers,
                    response_body=content,
                    completed_at=func.now(),
                )
            )
    if response.background is not None:
        await response.background()
    return Response(content, status_code=response.status_code, headers=headers)
