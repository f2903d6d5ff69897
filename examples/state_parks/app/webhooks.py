"""Webhooks: subscribe an endpoint to a park's status events in the active tenant.

Each (tenant, park, event type) has its own SNS topic, created on the first subscription
and deleted with the last, so a publish reaches exactly that tenant's subscribers. The
endpoint is checked by the registry's ``EndpointPolicy`` (https, public addresses only)
before SNS is asked to call it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import config
from models import NewWebhook
from parks import find_park
from web import Event, Response, dispatch, no_content, parse_body, path_param

from tenantkit import requires_roles, tenant_handler
from tenantkit.errors import NotFoundError
from tenantkit.handlers import json_response

if TYPE_CHECKING:
    from tenantkit.events import Subscription

EVERYONE = ("admin", "member", "visitor")


def public_subscription(subscription: Subscription) -> dict[str, Any]:
    return {
        "id": subscription.id,
        "eventType": subscription.event_type,
        "endpoint": subscription.endpoint,
        "createdAt": str(subscription.created_at),
    }


@requires_roles(*EVERYONE)
def subscribe(event: Event) -> Response:
    park_id = path_param(event, "parkId")
    webhook = parse_body(event, NewWebhook)
    find_park(park_id)
    protocol = "http" if webhook.endpoint.lower().startswith("http://") else "https"
    subscription = config.topic_registry().subscribe(
        webhook.eventType, webhook.endpoint, resource_id=park_id, protocol=protocol
    )
    return json_response(201, {"id": subscription.id})


@requires_roles(*EVERYONE)
def list_webhooks(event: Event) -> Response:
    park_id = path_param(event, "parkId")
    find_park(park_id)
    subscriptions = config.topic_registry().subscriptions(resource_id=park_id)
    return json_response(200, {"items": [public_subscription(s) for s in subscriptions]})


@requires_roles(*EVERYONE)
def unsubscribe(event: Event) -> Response:
    park_id = path_param(event, "parkId")
    webhook_id = path_param(event, "webhookId")
    registry = config.topic_registry()
    # Only a subscription of this park in this tenant; any other id is simply unknown.
    if not any(s.id == webhook_id for s in registry.subscriptions(resource_id=park_id)):
        raise NotFoundError("webhook not found for this park in your active tenant")
    registry.unsubscribe(webhook_id)
    return no_content()


ROUTES = {
    ("POST", "/parks/{parkId}/webhooks"): subscribe,
    ("GET", "/parks/{parkId}/webhooks"): list_webhooks,
    ("DELETE", "/parks/{parkId}/webhooks/{webhookId}"): unsubscribe,
}


@tenant_handler
def handler(event: Event, context: object) -> Response:
    return dispatch(event, ROUTES)
