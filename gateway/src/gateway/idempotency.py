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
from starlette.responses import Response

from gateway.models import idempotency_keys
from gateway.proxy import Reply
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


def required_for(method: str, path: str) -> bool:
    return method == "POST" and requires_key(path)


def missing_key(key: str, path: str) -> Response | None:
    """The 400 to answer when the Idempotency-Key header is missing or too long, else None."""
    if key and len(key) <= 200:
        return None
    return problem(
        400,
        "idempotency-key-required",
        "Idempotency-Key required",
        "This request moves money or creates a claim: send an Idempotency-Key header (at most 200 characters).",
        path,
    )


async def with_idempotency(
    *,
    subject: str,
    key: str,
    method: str,
    path: str,
    body: bytes,
    db: Database,
    call: Callable[[], Awaitable[Reply | Response]],
) -> Response:
    """Run `call` at most once per (subject, Idempotency-Key); replay or refuse repeats."""
    digest = hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()
    t = idempotency_keys
    async with db.session() as session:
        claimed = await session.execute(
            pg_insert(t)
            .values(subject=subject, key=key, method=method, path=path, request_hash=digest)
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
        answer = await call()
        if isinstance(answer, Reply):
            content = await answer.read()
            status = answer.status
            headers = {
                k.decode("latin-1"): v.decode("latin-1")
                for k, v in answer.headers
                if k not in (b"content-length", b"x-request-id")
            }
        else:  # a problem the door answered itself (502, 504)
            content = bytes(answer.body)
            status = answer.status_code
            headers = {k: v for k, v in answer.headers.items() if k not in ("content-length", "x-request-id")}
    except BaseException:
        async with db.session() as session:
            await session.execute(delete(t).where(t.c.subject == subject, t.c.key == key))
        raise
    async with db.session() as session:
        if status >= 500:
            await session.execute(delete(t).where(t.c.subject == subject, t.c.key == key))
        else:
            await session.execute(
                update(t)
                .where(t.c.subject == subject, t.c.key == key)
                .values(
                    status=status,
                    response_headers=headers,
                    response_body=content,
                    completed_at=func.now(),
                )
            )
    return Response(content, status_code=status, headers=headers)
