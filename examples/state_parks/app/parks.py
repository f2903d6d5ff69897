"""The parks API (data plane): list, add and read the active tenant's parks.

Items live in the shared table under keys the tenant-scoped table prefixes with the
tenant: ``pk = <tenant>#park#<id>``, ``sk = park`` and, for listing,
``GSI1PK = <tenant>#park``, ``GSI1SK = <id>``. The handler never names a tenant.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import config
from models import PARK_ID_PATTERN, NewPark
from web import Event, RequestError, Response, dispatch, parse_body, path_param, query_param

from tenantkit import requires_roles, tenant_handler
from tenantkit.errors import ConditionFailedError, ConflictError, NotFoundError
from tenantkit.handlers import json_response

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
PARK_ID_RE = re.compile(PARK_ID_PATTERN)
LIMIT_RE = re.compile(r"[0-9]{1,3}")  # ASCII digits only: str.isdigit() also takes "²"


def park_key(park_id: str) -> dict[str, str]:
    return {"pk": f"park#{park_id}", "sk": "park"}


def park_item(park_id: str, name: str, status: str) -> dict[str, Any]:
    """A park as stored; the table adds the tenant prefix to ``pk`` and ``GSI1PK``."""
    return {
        **park_key(park_id),
        "GSI1PK": "park",
        "GSI1SK": park_id,
        "parkId": park_id,
        "name": name,
        "status": status,
        "createdAt": datetime.now(UTC).isoformat(),
    }


def public_park(item: dict[str, Any]) -> dict[str, str]:
    return {
        "id": str(item["parkId"]),
        "name": str(item["name"]),
        "status": str(item.get("status") or "park-opened"),
    }


def find_park(park_id: str) -> dict[str, Any]:
    """The park in the current tenant, or ``NotFoundError`` (also for another tenant's)."""
    if not PARK_ID_RE.fullmatch(park_id):
        raise NotFoundError("park not found in your active tenant")
    item = config.tenant_table().get_item(park_key(park_id))
    if item is None:
        raise NotFoundError("park not found in your active tenant")
    return item


def page_size(event: Event) -> int:
    raw = query_param(event, "limit")
    if raw is None:
        return DEFAULT_PAGE_SIZE
    if not LIMIT_RE.fullmatch(raw) or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise RequestError(400, f"limit must be an integer from 1 to {MAX_PAGE_SIZE}")
    return int(raw)


@requires_roles("admin", "member", "visitor")
def list_parks(event: Event) -> Response:
    page = config.paged_table().query(
        "park",
        index=config.PARKS_INDEX,
        limit=page_size(event),
        cursor=query_param(event, "cursor") or None,
    )
    return json_response(
        200, {"items": [public_park(item) for item in page.items], "cursor": page.cursor}
    )


@requires_roles("admin", "member")
def add_park(event: Event) -> Response:
    park = parse_body(event, NewPark)
    try:
        config.tenant_table().put_item(
            park_item(park.id, park.name, park.status), if_not_exists=True
        )
    except ConditionFailedError:
        raise ConflictError(f"park {park.id} already exists") from None
    return json_response(201, {"id": park.id})


@requires_roles("admin", "member", "visitor")
def get_park(event: Event) -> Response:
    return json_response(200, public_park(find_park(path_param(event, "parkId"))))


ROUTES = {
    ("GET", "/parks"): list_parks,
    ("POST", "/parks"): add_park,
    ("GET", "/parks/{parkId}"): get_park,
}


@tenant_handler
def handler(event: Event, context: object) -> Response:
    return dispatch(event, ROUTES)
