"""Per-tenant SNS topics for webhooks, and tenant envelopes for queued work.

Names are imported on first use, so a function that only opens envelopes does not
load the DynamoDB and SNS parts (or boto3) at cold start.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tenantkit.events.endpoints import EndpointPolicy, system_resolver
    from tenantkit.events.envelope import EnvelopeSigner
    from tenantkit.events.masking import mask_endpoint
    from tenantkit.events.once import EnvelopeLedger
    from tenantkit.events.queues import process_sqs_batch, send_message
    from tenantkit.events.topics import PublishResult, Subscription, TopicRegistry, topic_name

__all__ = [
    "EndpointPolicy",
    "EnvelopeLedger",
    "EnvelopeSigner",
    "PublishResult",
    "Subscription",
    "TopicRegistry",
    "mask_endpoint",
    "process_sqs_batch",
    "send_message",
    "system_resolver",
    "topic_name",
]

_MODULES = {
    "EndpointPolicy": "endpoints",
    "mask_endpoint": "masking",
    "system_resolver": "endpoints",
    "EnvelopeSigner": "envelope",
    "EnvelopeLedger": "once",
    "process_sqs_batch": "queues",
    "send_message": "queues",
    "PublishResult": "topics",
    "Subscription": "topics",
    "TopicRegistry": "topics",
    "topic_name": "topics",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module 'tenantkit.events' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"tenantkit.events.{module}"), name)
    globals()[name] = value
    return value
