"""The UpdateParkStatus state machine's Lambda task: announce a status change.

The machine (``statemachine/update_park_status.asl.json``) has already updated the park
under its tenant's key; this task publishes the change to the park's topic for the new
status, so its webhooks hear of it. ``step_functions_task`` restores the tenant from the
execution input's ``tenantId``, which the API's mapping template took from the
authorizer; only the state machine may invoke this function (template.yaml), and only
API Gateway's integration role may start the machine. The registry, not the machine,
resolves the topic, so its check of the stored topic ARN stays in force.

A module of its own, so the task's cold start loads neither Powertools nor pydantic.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import config

from tenantkit.events import step_functions_task


def require_active(tenant_id: str) -> None:
    """Refuse the work of a suspended or offboarded tenant (the task fails, 403)."""
    config.tenant_statuses().require_active(tenant_id)


@step_functions_task(require_active=require_active)
def handler(event: dict[str, Any], context: object) -> dict[str, str]:
    park_id, status = event["parkId"], event["status"]
    at = datetime.now(UTC).isoformat()
    config.topic_registry().publish(
        status, {"parkId": park_id, "status": status, "at": at}, resource_id=park_id
    )
    return {"parkId": park_id, "status": status}
