"""Webhooks: subscribe an endpoint to a park's status events in the active tenant.

Each (tenant, park, event type) has its own SNS topic, created on the first subscription
and deleted with the last, so a publish reaches exactly that tenant's subscribers. The
endpoint is checked by the registry's ``EndpointPolicy`` (https, public addresses only)
before SNS is asked to call it.

Inside a tenant a webhook belongs to the user who subscribed it. Admins and members may
subscribe; everyone in the tenant may list the park's webhooks, with endpoints masked
(scheme, last two host labels, last 4 characters), since URLs carry secrets. Only the
owner or an admin may read a webhook's full endpoint or remove it; visitors only list.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import config
from models import NewWebhook
from parks import find_park
from web import Event, Response, dispatch, no_content, parse_body, path_param

from tenantkit import current_tenant, requires_roles, tenant_handler
from tenantkit.errors import NotFoundError
from tenantkit.handlers import json_response

if TYPE_CHECKING:
    from tenantkit.events import Subscription

EVERYONE = ("admin", "member", "visitor")
SUBSCRIBERS = ("admin", "member")


def public_subscription(subscription: Subscription) -> dict[str, Any]:
    user = current_tenant()
    return {
        "id": subscription.id,
        "eventType": subscription.event_type,
        "endpoint": subscription.endpoint,
        "mine": subscription.owner == user.user_id,
        "createdAt": str(subscription.created_at),
    }


def park_webhook(event: Event) -> Subscription:
    """The webhook of the path, if it is one of the path's park in this tenant (else 404)."""
    park_id = path_param(event, "parkId")
    webhook_id = path_param(event, "webhookId")
    for subscription in config.topic_registry().subscriptions(resource_id=park_id):
        if subscription.id == webhook_id:
            return subscription
    raise NotFoundError("webhook not found for this park in your active tenant")


@requires_roles(*SUBSCRIBERS)
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


@requires_roles(*SUBSCRIBERS)
def get_webhook(event: Event) -> Response:
    """The full endpoint, read back from SNS: for the owner and admins only (else 403)."""
    subscription = park_webhook(event)
    endpoint = config.topic_registry().endpoint(subscription.id)
    return json_response(200, {**public_subscription(subscription), "endpoint": endpoint})


@requires_roles(*SUBSCRIBERS)
def unsubscribe(event: Event) -> Response:
    """Only a webhook of this park in this tenant; the owner or an admin (else 403)."""
    config.topic_registry().unsubscribe(park_webhook(event).id)
    return no_content()


ROUTES = {
    ("POST", "/parks/{parkId}/webhooks"): subscribe,
    ("GET", "/parks/{parkId}/webhooks"): list_webhooks,
    ("GET", "/parks/{parkId}/webhooks/{webhookId}"): get_webhook,
    ("DELETE", "/parks/{parkId}/webhooks/{webhookId}"): unsubscribe,
}


@tenant_handler
def handler(event: Event, context: object) -> Response:
    return dispatch(event, ROUTES)
