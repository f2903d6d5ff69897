"""Parks as stored: keys, items and the one lookup the parks, statuses and webhooks APIs share.

Items live in the shared table under keys the tenant-scoped table prefixes with the
tenant: ``pk = <tenant>#park#<id>``, ``sk = park`` and, for listing,
``GSI1PK = <tenant>#park``, ``GSI1SK = <id>``. Nothing here names a tenant.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import config
from models import PARK_ID_PATTERN

from tenantkit.errors import NotFoundError

PARK_ID_RE = re.compile(PARK_ID_PATTERN)


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
