"""The parks API (data plane): list, add and read the active tenant's parks.

Parks are stored as ``park_records.py`` lays them out; listing reads the ``GSI1`` index,
a page at a time, with signed cursors. No route names a tenant: ``TenantMiddleware``
puts the caller's in scope and the tenant-scoped table applies it.
"""

from __future__ import annotations

from typing import Annotated, Any

import config
import web
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from models import NewPark
from park_records import find_park, park_item, public_park

from tenantkit import requires_roles
from tenantkit.errors import ConditionFailedError, ConflictError

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100

app = web.resolver(tenant_scoped=True)


@app.get("/parks")
@requires_roles("admin", "member", "visitor")
def list_parks(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    cursor: Annotated[str | None, Query(description="The previous page's cursor")] = None,
) -> dict[str, Any]:
    page = config.paged_table().query(
        "park", index=config.PARKS_INDEX, limit=limit, cursor=cursor or None
    )
    return {"items": [public_park(item) for item in page.items], "cursor": page.cursor}


@app.post("/parks")
@requires_roles("admin", "member")
def add_park(park: NewPark) -> Response[str]:
    try:
        config.tenant_table().put_item(
            park_item(park.id, park.name, park.status), if_not_exists=True
        )
    except ConditionFailedError:
        raise ConflictError(f"park {park.id} already exists") from None
    return web.created(park.id)


@app.get("/parks/<parkId>")
@requires_roles("admin", "member", "visitor")
def get_park(parkId: str) -> dict[str, str]:
    return public_park(find_park(parkId))


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    return app.resolve(event, context)  # type: ignore[arg-type]
