"""What the registry stores and returns: topic names, record keys, ARNs it may trust.

Records live in the control plane (``tenantkit._shared.dynamodb.control_plane``), under
``_events#`` keys. Nothing read back from the table is trusted to name an SNS resource.
The topic name is computed from the current tenant, and the topic ARN must be exactly the
ARN of that name in this registry's partition, region and account; a subscription ARN
must belong to that topic. A record that says otherwise was forged or copied, and is
refused.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
from base64 import b32encode
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from tenantkit._shared.clients import build_client
from tenantkit.context import validate_tenant_id
from tenantkit.errors import (
    ConfigurationError,
    InvalidEventTypeError,
    InvalidKeyError,
    TenantIsolationError,
)

if TYPE_CHECKING:
    import boto3
    from botocore.config import Config
    from mypy_boto3_sns import SNSClient

__all__ = [
    "NAMESPACE",
    "PublishResult",
    "RegistryKeys",
    "Subscription",
    "TopicArns",
    "check_names",
    "endpoint_key",
    "new_subscription_id",
    "topic_name",
]

logger = logging.getLogger("tenantkit.events")

#: The registry's control-plane namespace: every record key starts with it (no tenant
#: id starts with ``_``, so no ``TenantTable`` key reaches one).
NAMESPACE = "_events#"

PREFIX = re.compile(r"[A-Za-z0-9_]{1,32}\Z", re.ASCII)
_LITERAL = re.compile(r"[A-Za-z0-9_-]{1,64}\Z", re.ASCII)
_EVENT_TYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/=+@-]{0,127}\Z", re.ASCII)
_RESOURCE_ID = re.compile(r"[A-Za-z0-9_.:/=+@-]{1,256}\Z", re.ASCII)
_ACCOUNT = re.compile(r"[0-9]{12}\Z", re.ASCII)
_SUBSCRIPTION_SUFFIX = re.compile(r"[A-Za-z0-9-]{1,64}\Z", re.ASCII)


def _component(value: str | None) -> str:
    """A self-delimiting encoding: ``n`` (none), ``<len>_<value>``, or ``h<sha256 base32>``."""
    if value is None:
        return "n"
    if _LITERAL.match(value):
        return f"{len(value)}_{value}"
    digest = b32encode(hashlib.sha256(value.encode("utf-8")).digest()).decode("ascii")
    return "h" + digest.rstrip("=").lower()


def topic_name(prefix: str, tenant_id: str, resource_id: str | None, event_type: str) -> str:
    """The SNS topic name of (tenant, resource, event type): deterministic and collision-free.

    ``{prefix}-{tenant}-{resource}-{event}`` where each part is length-prefixed
    (``5_texas``), or replaced by the SHA-256 of the value (``h`` + 52 base32
    characters) when it has characters SNS does not allow or is over 64 characters.
    Each part decodes unambiguously, so different inputs never share a name; nothing
    is truncated, and the longest possible name is 227 characters (SNS allows 256).
    """
    if not PREFIX.match(prefix):
        raise ConfigurationError("topic_prefix must be 1-32 characters of [A-Za-z0-9_]")
    tenant = validate_tenant_id(tenant_id)
    parts = (prefix, _component(tenant), _component(resource_id), _component(event_type))
    return "-".join(parts)


def check_names(event_type: object, resource_id: object) -> None:
    """Refuse event types and resource ids that are not valid tag values and key parts."""
    if not isinstance(event_type, str) or not _EVENT_TYPE.match(event_type):
        raise InvalidEventTypeError(
            "event_type must be 1-128 characters of [A-Za-z0-9_.:/=+@-], starting with a "
            "letter or digit, such as 'park-updated'"
        )
    if resource_id is not None and (
        not isinstance(resource_id, str) or not _RESOURCE_ID.match(resource_id)
    ):
        raise InvalidKeyError("resource_id must be 1-256 characters of [A-Za-z0-9_.:/=+@-]")


def new_subscription_id() -> str:
    """A random id: an id derived from the URL would let anyone who lists subscriptions
    brute-force a low-entropy secret in it (``?pin=481516``) offline."""
    return "sub_" + secrets.token_hex(16)


def endpoint_key(
    prefix: str,
    tenant_id: str,
    resource_id: str | None,
    event_type: str,
    protocol: str,
    endpoint: str,
) -> str:
    """The key of the record that makes one endpoint one subscription per topic.

    An unkeyed hash of the URL: it lives in the control plane only and is never shown to
    tenants, but whoever reads the table can still brute-force a low-entropy URL secret
    from it; webhook URLs should carry secrets of at least 128 bits.
    """
    fields = [prefix, tenant_id, resource_id, event_type, protocol, endpoint]
    return hashlib.sha256(json.dumps(fields).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Subscription:
    """A webhook endpoint subscribed to one tenant's events.

    ``endpoint`` is masked (``mask_endpoint``); the owner and admins read the full URL
    with ``TopicRegistry.endpoint(id)``. ``owner`` is the user id that subscribed it.
    """

    id: str
    event_type: str
    resource_id: str | None
    endpoint: str
    owner: str
    topic_arn: str
    subscription_arn: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PublishResult:
    """Whether an event went to SNS; ``published`` is False when nobody is subscribed."""

    published: bool
    message_id: str | None = None
    topic_arn: str | None = None


class RegistryKeys:
    """Where each record lives, all under the reserved ``_events#`` partition keys.

    topic         ``_events#topic#<topic name>``             / ``_topic``
    subscription  ``_events#subs#<prefix>#<tenant>``         / ``sub_<32 random hex>``
    endpoint      ``_events#ep#<prefix>#<tenant>``           / ``endpoint_key(...)``
    tenant count  ``_events#count#<prefix>#<tenant>``        / ``_subscriptions``
    topic budget  ``_events#budget``                         / ``_topics``

    The topic name holds the prefix and the tenant, so every key is one tenant's; the
    budget is shared by every registry on the table, whatever its prefix.
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def topic(self, name: str) -> tuple[str, str]:
        return f"{NAMESPACE}topic#{name}", "_topic"

    def subscriptions(self, tenant: str) -> str:
        return f"{NAMESPACE}subs#{self.prefix}#{tenant}"

    def subscription(self, tenant: str, subscription_id: str) -> tuple[str, str]:
        return self.subscriptions(tenant), subscription_id

    def endpoint(self, tenant: str, endpoint_key: str) -> tuple[str, str]:
        return f"{NAMESPACE}ep#{self.prefix}#{tenant}", endpoint_key

    def tenant_count(self, tenant: str) -> tuple[str, str]:
        return f"{NAMESPACE}count#{self.prefix}#{tenant}", "_subscriptions"

    @staticmethod
    def budget() -> tuple[str, str]:
        return f"{NAMESPACE}budget", "_topics"


class TopicArns:
    """The one ARN each topic name may have: the SNS client's partition and region, and
    the account (given, learned from a ``CreateTopic`` answer, or one STS call, with the
    registry's ``boto3_session`` and ``boto_config`` if it has them).

    Once the account is known the check is a string comparison, so ``publish`` stays
    one read and one ``Publish``.
    """

    def __init__(
        self,
        account_id: str | None,
        *,
        boto3_session: boto3.session.Session | None = None,
        boto_config: Config | None = None,
    ) -> None:
        if account_id is not None and not _ACCOUNT.match(account_id):
            raise ConfigurationError("account_id must be the 12 digits of an AWS account id")
        self._account = account_id
        self._session = boto3_session
        self._config = boto_config

    def _home(self, sns: SNSClient) -> str:
        return f"arn:{sns.meta.partition}:sns:{sns.meta.region_name}:"

    def _account_id(self, sns: SNSClient) -> str:
        if self._account is None:
            sts = build_client(
                "sts",
                boto3_session=self._session,
                boto_config=self._config,
                region_name=sns.meta.region_name,
            )
            self._account = sts.get_caller_identity()["Account"]
        return self._account

    def expected(self, sns: SNSClient, name: str) -> str:
        return f"{self._home(sns)}{self._account_id(sns)}:{name}"

    def created(self, sns: SNSClient, name: str, arn: str) -> str:
        """Check the ARN ``CreateTopic`` returned (and learn the account from it)."""
        if self._account is None:
            home = self._home(sns)
            account, _, rest = arn.removeprefix(home).partition(":")
            if arn.startswith(home) and _ACCOUNT.match(account) and rest == name:
                self._account = account
        return self.topic(sns, name, arn)

    def topic(self, sns: SNSClient, name: str, stored: object) -> str:
        """``stored`` if it is the ARN of topic ``name``, else ``TenantIsolationError``."""
        expected = self.expected(sns, name)
        if stored != expected:
            raise _refused("topic", name, stored)
        return expected

    def subscription(self, sns: SNSClient, name: str, stored: object) -> str:
        """``stored`` if it is the ARN of a subscription to topic ``name``."""
        topic = self.expected(sns, name)
        if not (
            isinstance(stored, str)
            and stored.startswith(topic + ":")
            and _SUBSCRIPTION_SUFFIX.match(stored[len(topic) + 1 :])
        ):
            raise _refused("subscription", name, stored)
        return stored


def _refused(kind: str, name: str, stored: object) -> TenantIsolationError:
    logger.error(
        "tenant isolation: the registry record of topic %s holds a %s ARN %r that is not "
        "this topic's; it was refused and no SNS call was made",
        name,
        kind,
        stored,
    )
    return TenantIsolationError(
        f"the registry record of topic {name!r} names an SNS {kind} that is not its own; "
        "refused. Registry records live under _events# keys: look for writes there."
    )
