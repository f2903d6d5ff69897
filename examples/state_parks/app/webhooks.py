"""Webhooks: subscribe an endpoint to a park's status events in the active tenant.

Each (tenant, park, event type) has its own SNS topic, created on the first subscription
and deleted with the last, so a publish reaches exactly that tenant's subscribers. The
endpoint is checked by the registry's ``EndpointPolicy`` (https, public addresses only)
before SNS is asked to call it.

Inside a tenant a webhook belongs to the user who subscribed it. Admins and members may
subscribe; everyone in the tenant may list the park's webhooks, with endpoints masked
(scheme, last two host labels, last 4 characters), since URLs carry secrets. Only the
owner or an admin may read a webhook's full endpoint or remove it; visitors only list.
Subscribing an endpoint someone else owns is a 409 unless the caller is an admin, who
takes the webhook over.

The function is tenant-isolated (``TenantIsolationMode: PER_TENANT``): API Gateway maps
the authorizer's tenant onto ``X-Amz-Tenant-Id``, Lambda never lets an environment serve
two tenants, and ``TenantMiddleware`` refuses a request whose authorizer tenant differs
from ``context.tenant_id``. So the registry and the tenant's ``TenantSessions``
credentials (``config.tenant_table``) kept in module globals only ever hold this tenant.
It stays a function, not a direct integration: the endpoint's SSRF check (DNS included)
and the registry's race-safe topic creation cannot be written in VTL or ASL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import config
import web
from aws_lambda_powertools.event_handler import Response
from models import NewWebhook
from park_records import find_park

from tenantkit import current_tenant, requires_roles
from tenantkit.errors import NotFoundError

if TYPE_CHECKING:
    from tenantkit.events import Subscription

EVERYONE = ("admin", "member", "visitor")
SUBSCRIBERS = ("admin", "member")

app = web.resolver(tenant_scoped=True)


def public_subscription(subscription: Subscription) -> dict[str, Any]:
    user = current_tenant()
    return {
        "id": subscription.id,
        "eventType": subscription.event_type,
        "endpoint": subscription.endpoint,
        "mine": subscription.owner == user.user_id,
        "createdAt": str(subscription.created_at),
    }


def park_webhook(park_id: str, webhook_id: str) -> Subscription:
    """The webhook, if it is one of the park's in this tenant (else 404)."""
    for subscription in config.topic_registry().subscriptions(resource_id=park_id):
        if subscription.id == webhook_id:
            return subscription
    raise NotFoundError("webhook not found for this park in your active tenant")


@app.post("/parks/<parkId>/webhooks")
@requires_roles(*SUBSCRIBERS)
def subscribe(parkId: str, webhook: NewWebhook) -> Response[str]:
    find_park(parkId)
    protocol = "http" if webhook.endpoint.lower().startswith("http://") else "https"
    subscription = config.topic_registry().subscribe(
        webhook.eventType, webhook.endpoint, resource_id=parkId, protocol=protocol
    )
    return web.created(subscription.id)


@app.get("/parks/<parkId>/webhooks")
@requires_roles(*EVERYONE)
def list_webhooks(parkId: str) -> dict[str, Any]:
    find_park(parkId)
    subscriptions = config.topic_registry().subscriptions(resource_id=parkId)
    return {"items": [public_subscription(s) for s in subscriptions]}


@app.get("/parks/<parkId>/webhooks/<webhookId>")
@requires_roles(*SUBSCRIBERS)
def get_webhook(parkId: str, webhookId: str) -> dict[str, Any]:
    """The full endpoint, read back from SNS: for the owner and admins only (else 403)."""
    subscription = park_webhook(parkId, webhookId)
    endpoint = config.topic_registry().endpoint(subscription.id)
    return {**public_subscription(subscription), "endpoint": endpoint}


@app.delete("/parks/<parkId>/webhooks/<webhookId>")
@requires_roles(*SUBSCRIBERS)
def unsubscribe(parkId: str, webhookId: str) -> Response[str]:
    """Only a webhook of this park in this tenant; the owner or an admin (else 403)."""
    config.topic_registry().unsubscribe(park_webhook(parkId, webhookId).id)
    return web.no_content()


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    return app.resolve(event, context)  # type: ignore[arg-type]
