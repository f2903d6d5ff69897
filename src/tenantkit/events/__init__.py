"""Per-tenant SNS topics for webhooks, and tenant envelopes for queued and evented work.

Names are imported on first use, so a function that only opens envelopes does not
load the DynamoDB and SNS parts (or boto3) at cold start. ``SecretKey`` and
``SecretsManagerKey`` say where ``EnvelopeSigner``'s secret comes from.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tenantkit._shared.lazy import lazy_exports

if TYPE_CHECKING:
    from tenantkit.events.endpoints import EndpointPolicy, system_resolver
    from tenantkit.events.envelope import EnvelopeSigner
    from tenantkit.events.eventbridge import EventEntry, eventbridge_handler, put_events
    from tenantkit.events.invoke import TenantFunction
    from tenantkit.events.masking import mask_endpoint
    from tenantkit.events.once import EnvelopeLedger
    from tenantkit.events.queues import process_sqs_batch, send_message
    from tenantkit.events.tasks import step_functions_task
    from tenantkit.events.topics import PublishResult, Subscription, TopicRegistry, topic_name
    from tenantkit.keys import SecretKey, SecretsManagerKey

__all__ = [
    "EndpointPolicy",
    "EnvelopeLedger",
    "EnvelopeSigner",
    "EventEntry",
    "PublishResult",
    "SecretKey",
    "SecretsManagerKey",
    "Subscription",
    "TenantFunction",
    "TopicRegistry",
    "eventbridge_handler",
    "mask_endpoint",
    "process_sqs_batch",
    "put_events",
    "send_message",
    "step_functions_task",
    "system_resolver",
    "topic_name",
]

__getattr__ = lazy_exports(
    __name__,
    globals(),
    {
        "EndpointPolicy": "tenantkit.events.endpoints",
        "system_resolver": "tenantkit.events.endpoints",
        "mask_endpoint": "tenantkit.events.masking",
        "EnvelopeSigner": "tenantkit.events.envelope",
        "EnvelopeLedger": "tenantkit.events.once",
        "EventEntry": "tenantkit.events.eventbridge",
        "eventbridge_handler": "tenantkit.events.eventbridge",
        "put_events": "tenantkit.events.eventbridge",
        "TenantFunction": "tenantkit.events.invoke",
        "step_functions_task": "tenantkit.events.tasks",
        "process_sqs_batch": "tenantkit.events.queues",
        "send_message": "tenantkit.events.queues",
        "PublishResult": "tenantkit.events.topics",
        "Subscription": "tenantkit.events.topics",
        "TopicRegistry": "tenantkit.events.topics",
        "topic_name": "tenantkit.events.topics",
        "SecretKey": "tenantkit.keys",
        "SecretsManagerKey": "tenantkit.keys",
    },
)
