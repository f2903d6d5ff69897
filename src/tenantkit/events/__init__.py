"""Per-tenant SNS topics for webhooks, and tenant envelopes for queued work.

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
    from tenantkit.events.masking import mask_endpoint
    from tenantkit.events.once import EnvelopeLedger
    from tenantkit.events.queues import process_sqs_batch, send_message
    from tenantkit.events.topics import PublishResult, Subscription, TopicRegistry, topic_name
    from tenantkit.keys import SecretKey, SecretsManagerKey

__all__ = [
    "EndpointPolicy",
    "EnvelopeLedger",
    "EnvelopeSigner",
    "PublishResult",
    "SecretKey",
    "SecretsManagerKey",
    "Subscription",
    "TopicRegistry",
    "mask_endpoint",
    "process_sqs_batch",
    "send_message",
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
