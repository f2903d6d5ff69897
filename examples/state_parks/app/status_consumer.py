"""The queue consumer that announces park status changes to the park's webhooks.

``POST /parks/{parkId}/statuses`` (``statuses.py``) queues each change in a signed tenant
envelope: by the time this runs, the caller may have switched tenants, so the tenant
travels with the message. Each envelope is opened and the change published, inside that
tenant, to the park's topic for the new status, once: SQS may deliver a message twice,
and a copy may be replayed, so each envelope is claimed in the table's ledger first.

A module of its own, so the consumer's cold start loads neither Powertools nor pydantic
nor the API's resolver.
"""

from __future__ import annotations

from typing import Any

import config

from tenantkit.events import process_sqs_batch


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
