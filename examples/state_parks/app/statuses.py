"""Park status changes: the API that records them, and the queue consumer that announces them.

``POST /parks/{parkId}/statuses`` updates the park, then queues the change in a signed
tenant envelope: by the time the consumer runs, the caller may have switched tenants,
so the tenant travels with the message. The consumer opens each envelope and publishes
the change, inside that tenant, to the park's topic for the new status, once: SQS may
deliver a message twice, and a copy may be replayed, so the consumer claims each
envelope in the table's ledger before announcing it.
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
from tenantkit.events import process_sqs_batch, send_message

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
        config.aws_client("sqs"),
        config.setting("QUEUE_URL"),
        {
            "parkId": parkId,
            "status": change.status,
            "changedAt": changed_at,
            "changedBy": current_tenant().user_id,
        },
        signer=config.envelope_signer(),
    )
    return web.no_content()


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    return app.resolve(event, context)  # type: ignore[arg-type]


def announce(payload: Any) -> None:
    """Publish one status change to its park's topic in the envelope's tenant."""
    config.topic_registry().publish(
        payload["status"],
        {"parkId": payload["parkId"], "status": payload["status"], "at": payload["changedAt"]},
        resource_id=payload["parkId"],
    )


def consumer(event: dict[str, Any], context: object) -> dict[str, Any]:
    """SQS batch handler: failed or refused records are reported back for a retry, and
    an envelope already announced is acknowledged without announcing it again."""
    return process_sqs_batch(
        event, announce, signer=config.envelope_signer(), once=config.status_ledger()
    )
