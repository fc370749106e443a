"""HTTP for remittances: uploads by people (/v1/remittances) and pushes by the clearinghouse (/internal)."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser

from fastapi import APIRouter, Request
from pydantic import BaseModel

from claims.remittances import service
from claims.x12_835 import RemittanceUnreadable
from kit.app import RuntimeDep
from kit.auth import PrincipalDep, require_role
from kit.db import DbSession
from kit.errors import Unprocessable

router = APIRouter(tags=["remittances"])

MAX_BYTES = 5_000_000


class PostingOut(BaseModel):
    posted: list[str]
    duplicates: list[str]
    unmatched: list[str]


def _first_file(content_type: str, body: bytes) -> bytes:
    """The first part of a multipart/form-data body (the stdlib's MIME parser: no extra dependency)."""
    message = BytesParser(policy=policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    for part in message.iter_parts() if message.is_multipart() else []:
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes) and payload.strip():
            return payload
    raise Unprocessable("Attach the 835 file to the upload.")


async def _body_text(request: Request) -> str:
    """The raw X12, from the body itself or from the first file of a multipart upload."""
    content_type = request.headers.get("content-type", "")
    raw = await request.body()
    if len(raw) > MAX_BYTES:
        raise Unprocessable("The 835 is larger than 5 MB; split it.")
    if content_type.startswith("multipart/form-data"):
        raw = _first_file(content_type, raw)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Unprocessable("An 835 is plain text.") from exc


async def _post(request: Request, session: DbSession, runtime: RuntimeDep, source: str) -> PostingOut:
    text = await _body_text(request)
    try:
        summary = await service.post_remittance(session=session, runtime=runtime, text=text, source=source)
    except RemittanceUnreadable as exc:
        raise Unprocessable(str(exc)) from exc
    return PostingOut(posted=summary.posted, duplicates=summary.duplicates, unmatched=summary.unmatched)


@router.post(
    "/v1/remittances",
    response_model=PostingOut,
    summary="Upload an 835 (raw X12 body or a multipart file) and post it to its claims",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/plain": {
                    "schema": {"type": "string", "description": "An X12 835 interchange (ISA...IEA)."}
                },
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                },
            },
        }
    },
)
async def upload_remittance(
    request: Request, principal: PrincipalDep, session: DbSession, runtime: RuntimeDep
) -> PostingOut:
    require_role(principal, "ops")
    return await _post(request, session, runtime, "upload")


@router.post("/internal/remittances", response_model=PostingOut, include_in_schema=False)
async def pushed_remittance(
    request: Request, principal: PrincipalDep, session: DbSession, runtime: RuntimeDep
) -> PostingOut:
    require_role(principal, "service")
    return await _post(request, session, runtime, "clearinghouse")
