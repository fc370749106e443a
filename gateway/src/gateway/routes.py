"""The route table: public path -> the service that owns it. Front ends never see service boundaries.

A pattern matches a path that equals it or continues it with `/...`; `*` stands for one path segment (an id).
More specific patterns come first; the first match wins. Services serve the same public paths, so the
gateway forwards the path unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Route:
    pattern: str
    service: str
    # The pattern's segments, split once here rather than on every request.
    parts: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "parts", tuple(self.pattern.strip("/").split("/")))

    @property
    def path(self) -> str:
        """The pattern, as the route template in access logs and metrics (like a Starlette route's path)."""
        return self.pattern

    def matches(self, path: str) -> bool:
        return self.matches_parts(path.strip("/").split("/"))

    def matches_parts(self, have: list[str]) -> bool:
        want = self.parts
        if len(have) < len(want):
            return False
        # A loop, not all(<generator>): this runs for a dozen routes on every request.
        for w, h in zip(want, have, strict=False):  # noqa: SIM110
            if w != h and w != "*":
                return False
        return True


ROUTES: tuple[Route, ...] = (
    # --- claims: locations of a client, providers, sessions, claims, remittances -----------------
    Route("/v1/clients/*/locations", "claims"),
    Route("/v1/clients/*/care-team", "claims"),
    Route("/v1/providers", "claims"),
    Route("/v1/claims", "claims"),
    Route("/v1/remittances", "claims"),
    # --- pricing: money views of a client and of a session ------------------------------------------
    Route("/v1/clients/*/balance", "pricing"),
    Route("/v1/clients/*/payments", "pricing"),
    Route("/v1/clients/*/refunds", "pricing"),
    Route("/v1/clients/*/ledger", "pricing"),
    Route("/v1/sessions/*/cost", "pricing"),
    Route("/v1/sessions/*/invoice", "pricing"),
    Route("/v1/estimates", "pricing"),
    Route("/v1/good-faith-estimates", "pricing"),
    Route("/v1/fee-schedules", "pricing"),
    # --- claims again: sessions (after the pricing sub-resources above) ---------------------------
    Route("/v1/sessions", "claims"),
    # --- notifications --------------------------------------------------------------------------
    Route("/v1/clients/*/notification-preferences", "notifications"),
    Route("/v1/notifications", "notifications"),
    # --- eligibility: clients, coverages, payers, coordination of benefits ----------------------
    Route("/v1/clients", "eligibility"),
    Route("/v1/coverages", "eligibility"),
    Route("/v1/payers", "eligibility"),
    Route("/v1/cob-cases", "eligibility"),
    Route("/v1/cob", "eligibility"),
    # --- the gateway's own ------------------------------------------------------------------------
    Route("/v1/audit-events", "gateway"),
)

SERVICES = ("eligibility", "claims", "pricing", "notifications")


def _by_resource(routes: tuple[Route, ...]) -> dict[str, tuple[Route, ...]]:
    # Every pattern is /v1/<resource>/...: a path is only ever compared with its resource's patterns.
    index: dict[str, list[Route]] = {}
    for route in routes:
        if len(route.parts) < 2 or route.parts[1] == "*":
            raise ValueError(f"route {route.pattern} names no resource after /v1")
        index.setdefault(route.parts[1], []).append(route)
    return {resource: tuple(candidates) for resource, candidates in index.items()}


_BY_RESOURCE = _by_resource(ROUTES)


def route_for(path: str) -> Route | None:
    """The route owning a public path, or None."""
    have = path.strip("/").split("/")
    if len(have) < 2:
        return None
    for route in _BY_RESOURCE.get(have[1], ()):
        if route.matches_parts(have):
            return route
    return None
