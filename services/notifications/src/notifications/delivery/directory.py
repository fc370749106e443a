"""Recipients' contact details and invoice PDFs, fetched from the services that own them.

Addresses never travel in events; eligibility owns clients, claims owns providers, pricing owns invoices.
Contacts are cached in memory for `contact_cache_ttl_s` (e-mail changes are rare; a stale address for a few
minutes is acceptable, an outage of eligibility stopping all mail is not). The sender looks up the clients of a
whole batch in one call to eligibility (`prefetch_clients`); each e-mail still gets its own answer (the
contact, or why it is unavailable and the e-mail waits for a retry).
"""

from __future__ import annotations

import asyncio
import functools
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx

from notifications.config import Settings

CACHE_PRUNE_AT = 50_000
REQUESTS_AT_ONCE = 8
# Eligibility answers up to 200 ids per contacts lookup (eligibility.internal.schemas.MAX_CONTACTS_PER_LOOKUP).
CLIENTS_PER_LOOKUP = 200


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
        self._lookups: set[asyncio.Future[None]] = set()  # running contacts lookups (kept from the GC)

    async def _request(self, url: str, json: object = None) -> httpx.Response:
        # Bounded: httpx's pool gets slow when many requests queue for its connections (it scans every
        # connection for every queued request), and the owners' keep-alive connections are reused.
        async with self._requests:
            if json is None:
                return await self.http.get(url)
            return await self.http.post(url, json=json)

    async def _fetch_json(self, url: str, json: object = None) -> dict[str, Any]:
        """GET `url` (POST `json` when given) and return the JSON object it answers."""
        try:
            response = await self._request(url, json)
        except httpx.HTTPError as exc:
            raise DirectoryUnavailable(f"{type(exc).__name__} from {url.split('/internal')[0]}") from exc
        if response.status_code != 200:
            raise DirectoryUnavailable(f"HTTP {response.status_code} from {url.split('/internal')[0]}")
        body = response.json()
        if not isinstance(body, dict):
            raise DirectoryUnavailable("unexpected response body")
        return body

    def prefetch_clients(self, client_ids: Iterable[uuid.UUID]) -> None:
        """Start looking up, in as few calls as possible, the clients not cached or already being fetched;
        `contact()` then waits for its client's answer instead of fetching it alone."""
        now = time.monotonic()
        wanted = []
        for client_id in dict.fromkeys(client_ids):
            key = ("client", client_id)
            cached = self._cache.get(key)
            if (cached is None or cached[0] <= now) and key not in self._fetching:
                wanted.append(client_id)
        loop = asyncio.get_running_loop()
        for start in range(0, len(wanted), CLIENTS_PER_LOOKUP):
            waiting: dict[uuid.UUID, asyncio.Future[Contact]] = {}
            for client_id in wanted[start : start + CLIENTS_PER_LOOKUP]:
                key = ("client", client_id)
                waiting[client_id] = self._fetching[key] = loop.create_future()
                waiting[client_id].add_done_callback(functools.partial(self._fetched, key))
            lookup = asyncio.ensure_future(self._look_up_clients(waiting))
            self._lookups.add(lookup)
            lookup.add_done_callback(self._lookups.discard)

    async def _look_up_clients(self, waiting: dict[uuid.UUID, asyncio.Future[Contact]]) -> None:
        """One contacts lookup at eligibility; every client gets its contact, or why it is unavailable (an id
        eligibility does not know is answered like its 404 on the single read)."""
        base = self.settings.eligibility_url
        try:
            try:
                body = await self._fetch_json(
                    f"{base}/internal/clients/contacts", json={"ids": [str(i) for i in waiting]}
                )
                found = {uuid.UUID(str(c["id"])): c for c in body["contacts"]}
            except DirectoryUnavailable as exc:
                error = str(exc)
            except (KeyError, TypeError, ValueError):
                error = "unexpected response body"
            else:
                error = ""
            for client_id, future in waiting.items():
                if future.done():
                    continue
                if error:
                    future.set_exception(DirectoryUnavailable(error))
                elif client_id in found:
                    future.set_result(
                        self._remember(("client", client_id), _client_contact(found[client_id]))
                    )
                else:
                    future.set_exception(DirectoryUnavailable(f"HTTP 404 from {base}"))
        finally:  # cancelled (the service stops): nobody is left waiting
            for future in waiting.values():
                future.cancel()

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
            contact = _client_contact(body)
        else:
            body = await self._fetch_json(f"{self.settings.claims_url}/internal/providers/{recipient_id}")
            name = str(body.get("name") or "").strip()
            contact = Contact(
                email=_str_or_none(body.get("email")), greeting_name=name or "there", display_name=name
            )
        return self._remember((kind, recipient_id), contact)

    def _remember(self, key: tuple[str, uuid.UUID], contact: Contact) -> Contact:
        now = time.monotonic()
        if len(self._cache) >= self._prune_at:  # forget expired contacts instead of keeping every one
            self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
            self._prune_at = max(CACHE_PRUNE_AT, 2 * len(self._cache))
        self._cache[key] = (now + self.settings.contact_cache_ttl_s, contact)
        return contact

    async def invoice_pdf(self, session_id: str) -> bytes:
        url = f"{self.settings.pricing_url}/internal/sessions/{session_id}/invoice.pdf"
        try:
            response = await self._request(url)
        except httpx.HTTPError as exc:
            raise DirectoryUnavailable(f"{type(exc).__name__} fetching the invoice") from exc
        if response.status_code != 200 or not response.content.startswith(b"%PDF"):
            raise DirectoryUnavailable(f"no invoice PDF yet (HTTP {response.status_code})")
        return response.content


def _client_contact(body: dict[str, Any]) -> Contact:
    first = str(body.get("first_name") or "").strip()
    last = str(body.get("last_name") or "").strip()
    return Contact(
        email=_str_or_none(body.get("email")),
        greeting_name=first or "there",
        display_name=" ".join(p for p in (first, f"{last[:1]}." if last else "") if p) or "your client",
    )


def _str_or_none(value: object) -> str | None:
    return str(value).strip() or None if value else None
