"""Park status changes: the API that records them.

``POST /parks/{parkId}/statuses`` updates the park, then queues the change in a signed
tenant envelope: by the time the consumer (``status_consumer.py``) runs, the caller may
have switched tenants, so the tenant travels with the message.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import config
import web
from aws_lambda_powertools.event_handler import Response
from boto3.dynamodb.conditions import Attr
from models import NewStatus
from park_records import PARK_ID_RE, park_key

from tenantkit import current_tenant, requires_roles
from tenantkit.errors import ConditionFailedError, NotFoundError
from tenantkit.events import send_message

app = web.resolver(tenant_scoped=True)


@app.post("/parks/<parkId>/statuses")
@requires_roles("admin")
def change_status(parkId: str, change: NewStatus) -> Response[str]:
    if not PARK_ID_RE.fullmatch(parkId):
        raise NotFoundError("park not found in your active tenant")
    changed_at = datetime.now(UTC).isoformat()
    try:
        config.tenant_table().update_item(
            park_key(parkId),
            set={"status": change.status, "statusChangedAt": changed_at},
            condition=Attr("pk").exists(),
        )
    except ConditionFailedError:
        raise NotFoundError("park not found in your active tenant") from None
    send_message(
        config.setting("QUEUE_URL"),
        {
            "parkId": parkId,
            "status": change.status,
            "changedAt": changed_at,
            "changedBy": current_tenant().user_id,
        },
        signer=config.envelope_signer(),
        client=config.aws_client("sqs"),
    )
    return web.no_content()


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    return app.resolve(event, context)  # type: ignore[arg-type]
