"""Who is asking. The gateway verifies the bearer token and forwards a verified identity in `x-parity-*`
headers together with the internal token; services trust those headers only when the internal token
matches, so identity headers from outside the gateway are worthless.

Object-level checks live in the services: a client asking for another client's record gets 404, a provider
acting on a client they do not see gets 403 (or 404 on reads).
"""

from __future__ import annotations

import hmac
from typing import Annotated, Literal
from uuid import UUID

from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError

from kit.errors import Forbidden, NotFound, Unauthorized

Role = Literal["client", "provider", "ops", "partner", "service"]

SUBJECT_HEADER = "x-parity-subject"
ROLE_HEADER = "x-parity-role"
CLIENT_HEADER = "x-parity-client-id"
PROVIDER_HEADER = "x-parity-provider-id"
INTERNAL_TOKEN_HEADER = "x-internal-token"


class Principal(BaseModel):
    """A verified caller: a person with a role, or another Parity service."""

    subject: str
    role: Role
    client_id: UUID | None = None
    provider_id: UUID | None = None

    @property
    def is_staff(self) -> bool:
        """Ops and our own services see everything."""
        return self.role in ("ops", "service")

    def headers(self) -> dict[str, str]:
        h = {SUBJECT_HEADER: self.subject, ROLE_HEADER: self.role}
        if self.client_id:
            h[CLIENT_HEADER] = str(self.client_id)
        if self.provider_id:
            h[PROVIDER_HEADER] = str(self.provider_id)
        return h


async def principal_from_request(request: Request) -> Principal:
    """A coroutine, so FastAPI runs it on the event loop (a plain function would cost a threadpool hop)."""
    expected = request.app.state.runtime.settings.internal_token
    given = request.headers.get(INTERNAL_TOKEN_HEADER, "")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise Unauthorized("Requests reach this service through the gateway only.")
    role = request.headers.get(ROLE_HEADER)
    if not role:
        raise Unauthorized("No verified identity came with this request.")
    try:
        return Principal(
            subject=request.headers.get(SUBJECT_HEADER, "unknown"),
            role=role,
            client_id=request.headers.get(CLIENT_HEADER) or None,
            provider_id=request.headers.get(PROVIDER_HEADER) or None,
        )
    except ValidationError as exc:
        raise Unauthorized("The identity that came with this request is not valid.") from exc


PrincipalDep = Annotated[Principal, Depends(principal_from_request)]


def require_role(principal: Principal, *roles: Role) -> None:
    """403 unless the caller has one of `roles` (ops and services always pass)."""
    if principal.is_staff or principal.role in roles:
        return
    raise Forbidden(f"This action is not available to the {principal.role} role.")


def ensure_own_client(principal: Principal, client_id: UUID, *, provider_sees: bool = False) -> None:
    """A client sees only themselves (404 otherwise, so existence does not leak). A provider passes only
    when the caller already established that they see this client (`provider_sees`)."""
    if principal.is_staff or principal.role == "partner":
        return
    if principal.role == "client" and principal.client_id == client_id:
        return
    if principal.role == "provider" and provider_sees:
        return
    raise NotFound("No such client.")


SERVICE_PRINCIPAL = Principal(subject="service", role="service")
