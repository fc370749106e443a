"""The sandbox clearinghouse: X12 270/271 (eligibility) and 837P/835 (claims) over HTTP.
`uvicorn --factory sandbox.clearinghouse.app:create_app --port 8201`"""

from __future__ import annotations

from fastapi import FastAPI

from sandbox.clearinghouse.claims import router as claims_router
from sandbox.clearinghouse.eligibility import router as eligibility_router


def create_app() -> FastAPI:
    app = FastAPI(title="Sandbox clearinghouse", description="Speaks X12 5010 the way a clearinghouse does.")
    app.include_router(eligibility_router)
    app.include_router(claims_router)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
