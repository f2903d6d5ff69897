"""Parks as stored, and the one lookup the webhooks API needs.

API Gateway writes and reads parks itself (``api.yaml``: the direct routes), in the
format ``TenantTable`` uses: ``pk = <tenant>#park#<id>``, ``sk = park``,
``GSI1PK = <tenant>#park``, ``GSI1SK = <id>``, plus ``parkId``, ``name``, ``status`` and
``createdAt``. The seed writes the same items through ``TenantTable``. Nothing here
names a tenant: the table adds the prefix of the tenant in scope.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import config

from tenantkit.errors import NotFoundError

#: The ``id`` pattern ``api.yaml`` gives ``POST /parks``.
PARK_ID_RE = re.compile(r"^[a-z0-9-]{1,64}$")


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


def find_park(park_id: str) -> dict[str, Any]:
    """The park in the current tenant, or ``NotFoundError`` (also for another tenant's)."""
    if not PARK_ID_RE.fullmatch(park_id):
        raise NotFoundError("park not found in your active tenant")
    item = config.tenant_table().get_item(park_key(park_id))
    if item is None:
        raise NotFoundError("park not found in your active tenant")
    return item
