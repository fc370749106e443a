"""One error base with a status code and a stable `type`, rendered as RFC 9457 problem+json."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from kit.db import database_unavailable

PROBLEM_BASE = "https://parity.dev/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"

log = logging.getLogger("kit.errors")


class ProblemError(Exception):
    """A refusal a person can read. Subclasses fix `status`, `type` and `title`."""

    status: int = 400
    type: str = "bad-request"
    title: str = "Bad request"

    def __init__(self, detail: str, *, reasons: list[str] | None = None, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.reasons = reasons
        self.extensions = extensions

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        if self.reasons:
            body["reasons"] = self.reasons
        body.update(self.extensions)
        return body


class NotFound(ProblemError):
    status, type, title = 404, "not-found", "Not found"


class Forbidden(ProblemError):
    status, type, title = 403, "forbidden", "Forbidden"


class Unauthorized(ProblemError):
    status, type, title = 401, "unauthorized", "Authentication required"


class Conflict(ProblemError):
    status, type, title = 409, "conflict", "Conflict"


class Unprocessable(ProblemError):
    status, type, title = 422, "unprocessable", "The request cannot be processed"


class DomainRefusal(ProblemError):
    """A business rule said no (client paused, provider not credentialed in the client's state)."""

    status, type, title = 409, "refused", "Refused by a business rule"


class UpstreamUnavailable(ProblemError):
    status, type, title = 502, "upstream-unavailable", "A service we depend on is unavailable"


class UpstreamTimeout(ProblemError):
    status, type, title = 504, "upstream-timeout", "A service we depend on did not answer in time"


def problem_response(body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=body["status"], media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def problem(
    status: int,
    slug: str,
    title: str,
    detail: str,
    instance: str | None = None,
    *,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    """An RFC 9457 problem response with a stable `type` under PROBLEM_BASE."""
    body: dict[str, Any] = {"type": PROBLEM_BASE + slug, "title": title, "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    body.update(extensions)
    return problem_response(body, headers=headers)


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    # The offending `input` is dropped: it may be a name, a date of birth or a diagnosis.
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        out.append({"field": ".".join(loc), "message": err.get("msg", "invalid"), "code": err.get("type")})
    return out


def install_error_handlers(app: FastAPI) -> None:
    """Render every error, ours or the framework's, as problem+json."""

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(exc.to_problem(request.url.path))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _validation_errors(exc)
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        return problem(
            422, "validation-error", "The request is not valid", detail, request.url.path, errors=errors
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        slug = {404: "not-found", 405: "method-not-allowed", 401: "unauthorized", 403: "forbidden"}
        return problem(
            exc.status_code,
            slug.get(exc.status_code, "http-error"),
            str(exc.detail) if exc.status_code != 404 else "Not found",
            str(exc.detail),
            request.url.path,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(SQLAlchemyTimeoutError)
    async def _busy(request: Request, exc: SQLAlchemyTimeoutError) -> JSONResponse:
        # Every database connection is busy: an overload to back off from, not a bug.
        log.warning("database pool exhausted", extra={"path": request.url.path})
        detail = "The service is busy; retry in a moment."
        return problem(503, "overloaded", "Busy", detail, request.url.path, headers={"Retry-After": "1"})

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> JSONResponse:
        # The database refusing a value as invalid for its type means the request carried it: the caller's
        # error. SQLSTATE class 22 is "data exception"; "invalid input for query argument" is the driver
        # refusing to encode a value (an integer past int64) before it reaches the server.
        cause = getattr(exc.orig, "__cause__", None)
        sqlstate = str(getattr(exc.orig, "sqlstate", None) or getattr(cause, "sqlstate", None) or "")
        if (
            isinstance(exc, DataError)
            or sqlstate.startswith("22")
            or "invalid input for query argument" in str(exc)
        ):
            detail = "A value in the request is out of the range this API stores."
            return problem(422, "invalid-value", "A value is out of range", detail, request.url.path)
        if database_unavailable(exc):
            log.warning("database unavailable", extra={"path": request.url.path})
            detail = "The service cannot reach its database right now; retry in a moment."
            return problem(
                503,
                "unavailable",
                "Temporarily unavailable",
                detail,
                request.url.path,
                headers={"Retry-After": "2"},
            )
        return await _unexpected(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"path": request.url.path})
        detail = "Something went wrong on our side; it has been logged."
        return problem(500, "internal-error", "Internal error", detail, request.url.path)
