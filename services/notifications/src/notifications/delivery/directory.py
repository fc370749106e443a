"""Recipients' contact details and invoice PDFs, fetched from the services that own them.

Addresses never travel in events; eligibility owns clients, claims owns providers, pricing owns invoices.
Contacts are cached in memory for `contact_cache_ttl_s` (e-mail changes are rare; a stale address for a few
minutes is acceptable, an outage of eligibility stopping all mail is not).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass

import httpx

from notifications.config import Settings

CACHE_PRUNE_AT = 50_000
REQUESTS_AT_ONCE = 8


class DirectoryUnavailable(Exception):
    """The owning service did not give us what we need now; the e-mail is retried later."""


@dataclass(frozen=True)
class Contact:
    email: str | None
    greeting_name: str  # first name for a client, full name for a provider
    display_name: str  # what a provider's e-mail calls the client: first name and last initial


class Directory:
    def __init__(self, *, http: httpx.AsyncClient, settings: Settings) -> None:
        self.http = http
        self.settings = settings
        self._cache: dict[tuple[str, uuid.UUID], tuple[float, Contact]] = {}
        self._prune_at = CACHE_PRUNE_AT
        self._requests = asyncio.Semaphore(REQUESTS_AT_ONCE)
        self._fetching: dict[tuple[str, uuid.UUID], asyncio.Future[Contact]] = {}

    async def _get(self, url: str) -> httpx.Response:
        # Bounded: httpx's pool gets slow when many requests queue for its connections (it scans every
        # connection for every queued request), and the owners' keep-alive connections are reused.
        async with self._requests:
            return await self.http.get(url)

    async def _fetch_json(self, url: str) -> dict[str, object]:
        try:
            response = await self._get(url)
        except httpx.HTTPError as exc:
            raise DirectoryUnavailable(f"{type(exc).__name__} from {url.split('/internal')[0]}") from exc
        if response.status_code != 200:
            raise DirectoryUnavailable(f"HTTP {response.status_code} from {url.split('/internal')[0]}")
        body = response.json()
        if not isinstance(body, dict):
            raise DirectoryUnavailable("unexpected response body")
        return body

    async def contact(self, kind: str, recipient_id: uuid.UUID) -> Contact:
        """The recipient's address and how to greet them (cached; e-mails of one batch to the same person
        share one fetch)."""
        key = (kind, recipient_id)
        cached = self._cache.get(key)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        fetching = self._fetching.get(key)
        if fetching is None:
            fetching = asyncio.ensure_future(self._fetch_contact(kind, recipient_id))
            self._fetching[key] = fetching
            fetching.add_done_callback(lambda done: self._fetched(key, done))
        # Shielded: one waiter cancelled does not cancel the fetch the others wait for.
        return await asyncio.shield(fetching)

    def _fetched(self, key: tuple[str, uuid.UUID], done: asyncio.Future[Contact]) -> None:
        self._fetching.pop(key, None)
        if not done.cancelled():
            done.exception()  # retrieved here too, in case every waiter was cancelled

    async def _fetch_contact(self, kind: str, recipient_id: uuid.UUID) -> Contact:
        if kind == "client":
            body = await self._fetch_json(f"{self.settings.eligibility_url}/internal/clients/{recipient_id}")
            first = str(body.get("first_name") or "").strip()
            last = str(body.get("last_name") or "").strip()
            contact = Contact(
                email=_str_or_none(body.get("email")),
                greeting_name=first or "there",
                display_name=" ".join(p for p in (first, f"{last[:1]}." if last else "") if p)
                or "your client",
            )
        else:
            body = await self._fetch_json(f"{self.settings.claims_url}/internal/providers/{recipient_id}")
            name = str(body.get("name") or "").strip()
            contact = Contact(
                email=_str_or_none(body.get("email")), greeting_name=name or "there", display_name=name
            )
        now = time.monotonic()
        if len(self._cache) >= self._prune_at:  # forget expired contacts instead of keeping every one
            self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
            self._prune_at = max(CACHE_PRUNE_AT, 2 * len(self._cache))
        self._cache[(kind, recipient_id)] = (now + self.settings.contact_cache_ttl_s, contact)
        return contact

    async def invoice_pdf(self, session_id: str) -> bytes:
        url = f"{self.settings.pricing_url}/internal/sessions/{session_id}/invoice.pdf"
        try:
            response = await self._get(url)
        except httpx.HTTPError as exc:
            raise DirectoryUnavailable(f"{type(exc).__name__} fetching the invoice") from exc
        if response.status_code != 200 or not response.content.startswith(b"%PDF"):
            raise DirectoryUnavailable(f"no invoice PDF yet (HTTP {response.status_code})")
        return response.content


def _str_or_none(value: object) -> str | None:
    return str(value).strip() or None if value else None
