"""Aggregated API docs: the services' own OpenAPI specs merged into one, filtered by the route table; and
the AsyncAPI document of every topic."""

from __future__ import annotations

import asyncio
import copy
import html
import json
import re
import time
from typing import Any

import httpx

from contracts import asyncapi
from gateway.config import Settings
from gateway.proxy import upstream_url
from gateway.routes import SERVICES, route_for

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "reasons": {"type": "array", "items": {"type": "string"}},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
    "required": ["type", "title", "status"],
}
# What the door and the kit can answer on any operation, besides what the service documents itself.
STANDARD_PROBLEMS = {
    "400": "Bad request (e.g. a missing Idempotency-Key)",
    "401": "No or invalid bearer token",
    "403": "The caller's role may not do this",
    "404": "No such resource (or not yours)",
    "409": "Refused by a business rule, or a conflicting request in flight",
    "413": "Request body too large",
    "415": "Unsupported media type",
    "422": "The request is not valid",
    "429": "Rate limited; see Retry-After",
    "502": "A service behind the gateway is unavailable",
    "503": "Not ready",
    "504": "A service behind the gateway did not answer in time",
}


IDEMPOTENCY_HEADER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": True,
    "description": "Makes the request safe to retry: the same key and body replay the first response.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[A-Za-z0-9_.:-]+$"},
}


def _with_idempotency_key(path: str, method: str, op: dict[str, Any]) -> None:
    from gateway.idempotency import requires_key

    if method == "post" and requires_key(path):
        params = op.setdefault("parameters", [])
        if not any(
            p.get("in") == "header" and p.get("name", "").lower() == "idempotency-key" for p in params
        ):
            params.append(IDEMPOTENCY_HEADER)


def _with_problems(op: dict[str, Any]) -> None:
    responses = op.setdefault("responses", {})
    problem_content = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for status, description in STANDARD_PROBLEMS.items():
        existing = responses.get(status)
        if existing is None:
            responses[status] = {"description": description, "content": problem_content}
        else:
            existing.setdefault("content", {}).update(problem_content)


def _rename_refs(doc: Any, renames: dict[str, str]) -> Any:
    if not renames:
        return doc
    text = json.dumps(doc)
    for old, new in renames.items():
        text = text.replace(f'"#/components/schemas/{old}"', f'"#/components/schemas/{new}"')
    return json.loads(text)


def merge_specs(
    specs: dict[str, dict[str, Any]], *, extra_paths: dict[str, Any] | None = None
) -> dict[str, Any]:
    """One OpenAPI 3.1 document from the services' specs: only the public paths each service owns."""
    merged: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "Parity API",
            "version": "1.0.0",
            "description": "The public API of Parity, through the gateway. Errors are RFC 9457 "
            "application/problem+json. Events are documented at /asyncapi.json.",
        },
        "paths": {},
        "components": {"schemas": {}},
        "tags": [],
    }
    schemas: dict[str, Any] = merged["components"]["schemas"]
    for service in sorted(specs):
        spec = copy.deepcopy(specs[service])
        their = spec.get("components", {}).get("schemas", {})
        renames = {
            name: f"{service}_{name}"
            for name, body in their.items()
            if name in schemas and schemas[name] != body
        }
        spec = _rename_refs(spec, renames)
        for name, body in spec.get("components", {}).get("schemas", {}).items():
            schemas[renames.get(name, name)] = body
        for path, item in spec.get("paths", {}).items():
            route = route_for(path)
            if route is None or route.service != service:
                continue  # internal or not routed: not part of the public API
            ops = {m: op for m, op in item.items() if m in HTTP_METHODS}
            for method, op in ops.items():
                op.setdefault("tags", [service])
                _with_problems(op)
                _with_idempotency_key(path, method, op)
            merged["paths"].setdefault(path, {}).update(item)
        for name, scheme in spec.get("components", {}).get("securitySchemes", {}).items():
            merged["components"].setdefault("securitySchemes", {})[name] = scheme
    schemas["Problem"] = PROBLEM_SCHEMA
    merged["tags"] = [{"name": s, "description": f"Owned by the {s} service"} for s in sorted(specs)]
    merged["paths"] = dict(sorted(merged["paths"].items()))
    return merged


def path_methods(doc: dict[str, Any]) -> list[tuple[re.Pattern[str], frozenset[str]]]:
    """Each documented path as a regex over concrete paths, with the methods documented for it."""
    table = []
    for template, item in doc.get("paths", {}).items():
        regex = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
        methods = frozenset(m.upper() for m in item if m in HTTP_METHODS)
        table.append((re.compile(regex), methods))
    return table


MethodIndex = dict[tuple[int, str | None], list[tuple[re.Pattern[str], frozenset[str]]]]


def index_methods(doc: dict[str, Any]) -> MethodIndex:
    """`path_methods` grouped by (number of segments, the resource segment after /v1) so that a request is
    matched against the few templates that could fit it, not all of them. A template whose resource segment
    holds a parameter goes under None."""
    index: MethodIndex = {}
    for (regex, methods), template in zip(path_methods(doc), doc.get("paths", {}), strict=True):
        parts = template.split("/")
        resource = parts[2] if len(parts) > 2 and "{" not in parts[2] else None
        index.setdefault((len(parts), resource), []).append((regex, methods))
    return index


class OpenApiAggregator:
    """Fetches and caches the services' specs; a service that is down is left out until it is back."""

    def __init__(self, settings: Settings, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.client = client
        self._cached: tuple[float, dict[str, Any]] | None = None
        self._methods: MethodIndex = {}
        self._last_attempt = -1e9
        self._lock = asyncio.Lock()

    async def _fetch(self, service: str) -> dict[str, Any] | None:
        try:
            resp = await self.client.get(upstream_url(self.settings, service) + "/openapi.json", timeout=5.0)
            resp.raise_for_status()
            spec: dict[str, Any] = resp.json()
            return spec
        except (httpx.HTTPError, ValueError):
            return None

    async def document(self, own_spec: dict[str, Any] | None = None) -> dict[str, Any]:
        async with self._lock:
            now = time.monotonic()
            if self._cached and now - self._cached[0] < self.settings.openapi_cache_s:
                return self._cached[1]
            fetched = await asyncio.gather(*(self._fetch(s) for s in SERVICES))
            specs = {s: spec for s, spec in zip(SERVICES, fetched, strict=True) if spec is not None}
            doc = merge_specs({**specs, **({"gateway": own_spec} if own_spec else {})})
            doc["components"].setdefault("securitySchemes", {})["bearerAuth"] = {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": "OAuth2 access token (RS256) from the identity provider; see README for dev tokens.",
            }
            doc["security"] = [{"bearerAuth": []}]
            missing = [s for s in SERVICES if s not in specs]
            if missing:
                doc["info"]["x-missing-services"] = missing
            else:
                self._cached = (now, doc)  # only a complete document is cached
                self._methods = index_methods(doc)
            return doc

    async def ensure_methods(self, own_spec: dict[str, Any] | None) -> None:
        """Learn the documented methods once (retrying at most every few seconds while a service is down)."""
        now = time.monotonic()
        if self._methods or now - self._last_attempt < 5:
            return
        self._last_attempt = now
        await self.document(own_spec)

    def allowed_methods(self, path: str) -> frozenset[str] | None:
        """The methods documented for a concrete path, or None when the (complete) docs do not know it."""
        parts = path.split("/")
        n = len(parts)
        candidates = self._methods.get((n, parts[2] if n > 2 else None), [])
        if n > 2:
            candidates = candidates + self._methods.get((n, None), [])
        matches = [methods for regex, methods in candidates if regex.match(path)]
        if not matches:
            return None
        return matches[0] if len(matches) == 1 else frozenset().union(*matches)


def asyncapi_html() -> str:
    """A readable page of every topic, its event types, keys and payload fields."""
    doc = asyncapi.build()
    schemas = doc["components"]["schemas"]
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Parity events</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:960px;margin:2rem auto;padding:0 1rem}"
        "table{border-collapse:collapse;width:100%;margin-bottom:1.5rem}td,th{border:1px solid #ccc;"
        "padding:4px 8px;text-align:left}code{background:#f4f4f4;padding:1px 4px}</style></head><body>",
        "<h1>Parity events</h1><p>CloudEvents 1.0, Kafka binary content mode (<code>ce_*</code> headers, JSON "
        "body). Machine-readable: <a href='/asyncapi.json'>/asyncapi.json</a>.</p>",
    ]
    for channel in doc["channels"].values():
        parts.append(f"<h2><code>{html.escape(channel['address'])}</code></h2>")
        parts.append(f"<p>{html.escape(channel['description'])}</p>")
        for ref in channel["messages"].values():
            name = ref["$ref"].rsplit("/", 1)[-1]
            message = doc["components"]["messages"][name]
            schema = schemas[name]
            parts.append(
                f"<h3>{html.escape(message['name'])}</h3><p>{html.escape(message['summary'])} "
                f"Key: <code>{html.escape(message['bindings']['kafka']['key']['description'])}</code></p>"
            )
            parts.append("<table><tr><th>field</th><th>type</th><th>required</th></tr>")
            required = set(schema.get("required", []))
            for field, spec in schema.get("properties", {}).items():
                kind = spec.get("type") or spec.get("format") or json.dumps(spec)[:80]
                parts.append(
                    f"<tr><td><code>{html.escape(field)}</code></td><td>{html.escape(str(kind))}</td>"
                    f"<td>{'yes' if field in required else ''}</td></tr>"
                )
            parts.append("</table>")
    parts.append("</body></html>")
    return "".join(parts)
