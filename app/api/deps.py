"""Typed dependencies: the service's parts and the caller's tenant.

They do no I/O, so they are ``async``: FastAPI runs them on the event loop
instead of sending each to the thread pool (a hop per dependency per request).
"""

from __future__ import annotations

import hmac
import math
from typing import Annotated

from fastapi import Depends, Query, Request, Security
from fastapi.security import APIKeyHeader

from ..config import Settings, hash_key
from ..db.catalog import Catalog
from ..db.store import JobStore
from ..errors import InvalidInput, TooManyRequests, Unauthorized
from ..metrics import Metrics
from ..storage import Storage

OPEN_TENANT = "default"
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False,
                        description="a key from DEEPCLSMOTE_API_KEYS")


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_store(request: Request) -> JobStore:
    return request.app.state.store


async def get_catalog(request: Request) -> Catalog:
    return request.app.state.catalog


async def get_storage(request: Request) -> Storage:
    return request.app.state.storage


async def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics


def tenant_of(key: str | None, settings: Settings) -> str | None:
    """The key's tenant, comparing hashes in constant time against every stored hash."""
    if settings.open_mode:
        return OPEN_TENANT
    if not key:
        return None
    digest = hash_key(key).encode()
    found = None
    for stored, tenant in settings.key_hashes.items():  # no early exit: same time for all
        if hmac.compare_digest(digest, stored.encode()):
            found = tenant
    return found


async def get_tenant(request: Request, key: Annotated[str | None, Security(_api_key)]) -> str:
    """The caller's tenant, within its request rate (429 with Retry-After past it)."""
    settings = request.app.state.settings
    tenant = tenant_of(key, settings)
    if tenant is None:
        raise Unauthorized("missing API key (send it as X-API-Key)" if not key
                           else "unknown API key")
    if not settings.open_mode:
        wait = request.app.state.limiter.wait(tenant)
        if wait > 0:
            raise TooManyRequests(
                f"more than {settings.rate_limit:g} requests a second for this key; retry in "
                f"{wait:.1f} s", code="rate_limited",
                headers={"Retry-After": str(max(1, math.ceil(wait)))})
    return tenant


async def declared_fields_only(request: Request) -> None:
    """Refuse a query parameter or form field that the route does not declare (422).

    FastAPI ignores such fields; a misspelt option would then be silently
    dropped. Put it in a route's ``dependencies``; FastAPI has parsed the form
    (and kept it on the request) before dependencies run.
    """
    query, body = _declared(request.scope["route"].dependant)
    unknown = [f"query parameter {k!r}" for k in request.query_params if k not in query]
    if request.headers.get("content-type", "").startswith(("multipart/form-data",
                                                           "application/x-www-form-urlencoded")):
        form = await request.form()
        unknown += [f"form field {k!r}" for k in dict.fromkeys(form.keys()) if k not in body]
    if unknown:
        raise InvalidInput(f"unknown {', '.join(unknown)}; this endpoint takes "
                           f"{', '.join(sorted(query | body)) or 'none'}", code="unknown_field")


def _declared(dependant) -> tuple[set[str], set[str]]:  # noqa: ANN001 - FastAPI's Dependant
    """The query parameter and body field names of a route and all its dependencies."""
    query: set[str] = set()
    body: set[str] = set()
    todo = [dependant]
    while todo:
        current = todo.pop()
        query |= {p.alias for p in current.query_params}
        body |= {p.alias for p in current.body_params}
        todo.extend(current.dependencies)
    return query, body


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[JobStore, Depends(get_store)]
CatalogDep = Annotated[Catalog, Depends(get_catalog)]
StorageDep = Annotated[Storage, Depends(get_storage)]
TenantDep = Annotated[str, Depends(get_tenant)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]

#: Paging of the list endpoints (bounded: a huge offset is an error, not an overflow).
Limit = Annotated[int, Query(ge=1, le=1000, description="at most this many")]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="skip this many")]
#: The header of a list's answer that says how many items there are in all.
TOTAL_COUNT = "X-Total-Count"
TOTAL_HEADER = {TOTAL_COUNT: {
    "description": "how many items match in all, whatever limit and offset; a page is "
                   "limit items from offset",
    "schema": {"type": "integer", "minimum": 0}}}
