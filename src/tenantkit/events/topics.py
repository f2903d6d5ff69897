"""One SNS topic per (tenant, resource, event type), created when the first endpoint subscribes.

A shared topic with subscription filter policies is capped at 200 filter policies per
topic and 10,000 per account; a topic per tenant and event type is capped only by the
100,000 topics per account, and a publish reaches exactly the subscribers of its tenant.

The registry keeps its records in the control plane (``_events#`` keys), never where
tenant data lives, and trusts no ARN it reads back (``registry_records``). Finding a
topic is one ``GetItem``, never ``ListTopics``. Inside a tenant, a subscription belongs
to the user who made it: only they or an admin may remove it or see its full endpoint.

The module stays whole past 400 lines: it is the registry's public API, and each method
keeps its SNS call beside the record write that confirms or undoes it; the records, the
subscription slots and the topic lifecycle already live in modules of their own.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Attr

from tenantkit._shared.backoff import Backoff
from tenantkit._shared.cache import LruCache
from tenantkit._shared.clients import ClientOptions, refuse_client_and_session
from tenantkit._shared.dynamodb.control_plane import ControlPlaneStore
from tenantkit.context import TenantContext, current_tenant
from tenantkit.errors import (
    ConditionFailedError,
    ConfigurationError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    TenantIsolationError,
    aws_error_code,
)
from tenantkit.events.endpoints import EndpointPolicy
from tenantkit.events.masking import mask_endpoint
from tenantkit.events.registry_records import (
    NAMESPACE,
    PREFIX,
    PublishResult,
    RegistryKeys,
    Subscription,
    TopicArns,
    check_names,
    endpoint_key,
    new_subscription_id,
    topic_name,
)
from tenantkit.events.subscription_slots import SubscriptionSlots
from tenantkit.events.topic_lifecycle import ACTIVE, TopicLifecycle, iso, now

if TYPE_CHECKING:
    import boto3
    from botocore.config import Config
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sns import SNSClient

__all__ = ["DEFAULT_TOPIC_BUDGET", "PublishResult", "Subscription", "TopicRegistry", "topic_name"]

logger = logging.getLogger("tenantkit.events")

#: Leaves a tenth of the account's 100,000 standard topics to everything else.
DEFAULT_TOPIC_BUDGET = 90_000
_SUBSCRIPTION_ID = re.compile(r"sub_[0-9a-f]{32}\Z", re.ASCII)
_PENDING = "pending"
_NOT_CACHED: Any = object()  # tells a miss from a cached "no such topic" (None)


class TopicRegistry:
    """Per-tenant SNS topics for webhooks: subscribe, publish, unsubscribe, list.

    Everything acts on the current tenant (``current_tenant()``). Records live in the
    reserved ``_events#`` keys of ``table_name`` (a table with string keys
    ``partition_key``/``sort_key``, the one the app's ``TenantTable`` uses).
    ``account_id`` spares the one STS call that otherwise learns the account whose topic
    ARNs are trusted, when no ``CreateTopic`` answer told it first. ``admin_roles`` may
    remove anyone's subscription and read its full endpoint. ``topic_budget`` caps the
    topics of every registry on the table together. ``cache_ttl`` (seconds) turns on a
    cache of ``cache_size`` topic lookups for ``publish``, negative results included. The
    DynamoDB and SNS clients are ``dynamodb_client`` and ``sns_client`` (named per service,
    where other classes say ``client=``, because the registry has several), or all built
    on first use from ``boto3_session`` and ``boto_config`` (so is the one STS client, if
    needed); injecting a client and giving a session or config too is refused.
    """

    #: Sleeps between retries of contended writes; replaceable in tests.
    sleep: Callable[[float], None] = staticmethod(time.sleep)

    def __init__(
        self,
        table_name: str,
        *,
        dynamodb_client: DynamoDBClient | None = None,
        partition_key: str = "pk",
        sort_key: str = "sk",
        sns_client: SNSClient | None = None,
        boto3_session: boto3.session.Session | None = None,
        boto_config: Config | None = None,
        account_id: str | None = None,
        topic_prefix: str = "tk",
        endpoint_policy: EndpointPolicy | None = None,
        admin_roles: Iterable[str] = ("admin",),
        max_subscriptions_per_tenant: int = 100,
        topic_budget: int = DEFAULT_TOPIC_BUDGET,
        cache_ttl: float | None = None,
        cache_size: int = 1024,
    ) -> None:
        refuse_client_and_session(
            "dynamodb_client/sns_client",
            dynamodb_client is not None or sns_client is not None,
            boto3_session,
            boto_config,
        )
        if not PREFIX.match(topic_prefix):
            raise ConfigurationError("topic_prefix must be 1-32 characters of [A-Za-z0-9_]")
        for name, value in (
            ("max_subscriptions_per_tenant", max_subscriptions_per_tenant),
            ("topic_budget", topic_budget),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigurationError(f"{name} must be a positive integer")
        roles = () if isinstance(admin_roles, str) else tuple(admin_roles)
        if isinstance(admin_roles, str) or not all(isinstance(r, str) and r for r in roles):
            raise ConfigurationError("admin_roles is a collection of role names, e.g. ('admin',)")
        if cache_ttl is not None and (cache_ttl <= 0 or cache_size < 1):
            raise ConfigurationError("cache_ttl and cache_size must be positive")
        self._store = ControlPlaneStore(
            table_name,
            namespaces=(NAMESPACE[1:-1],),
            partition_key=partition_key,
            sort_key=sort_key,
            client=ClientOptions(
                "dynamodb",
                client=dynamodb_client,
                boto3_session=boto3_session,
                boto_config=boto_config,
            ),
        )
        self._sns = ClientOptions(
            "sns", client=sns_client, boto3_session=boto3_session, boto_config=boto_config
        )
        self._prefix = topic_prefix
        self._keys = RegistryKeys(topic_prefix)
        self._arns = TopicArns(account_id, boto3_session=boto3_session, boto_config=boto_config)
        backoff = Backoff(0.01, 0.5, sleep=lambda seconds: self.sleep(seconds))
        self._policy = endpoint_policy if endpoint_policy is not None else EndpointPolicy()
        self._admin_roles = roles
        self._topics = TopicLifecycle(
            self._store,
            self._keys,
            self._arns,
            self._client,
            budget=topic_budget,
            before_create=lambda tenant: self._slots.refuse_at_limit(tenant),
            backoff=backoff,
        )
        self._slots = SubscriptionSlots(
            self._store,
            self._keys,
            self._topics,
            limit=max_subscriptions_per_tenant,
            to_subscription=self._to_subscription,
            checked_topic=lambda name, arn: self._arns.topic(self._client(), name, arn),
            backoff=backoff,
        )
        # Topic records (None: no such topic) for publish, each for cache_ttl seconds.
        self._cache: LruCache[str, dict[str, Any] | None] | None = (
            None if cache_ttl is None else LruCache(cache_size, ttl=cache_ttl)
        )

    # -- public API ---------------------------------------------------------------------

    def subscribe(
        self,
        event_type: str,
        endpoint: str,
        *,
        resource_id: str | None = None,
        protocol: str = "https",
    ) -> Subscription:
        """Subscribe ``endpoint`` to the current tenant's ``event_type`` events.

        The caller becomes the subscription's owner. Creates the topic on first use.
        Subscribing the same endpoint again returns the existing subscription, to its
        owner; an admin takes it over, anyone else gets ``ConflictError`` (409). The id
        is random, so it says nothing about the endpoint. Raises
        ``EndpointRefusedError`` for endpoints the policy refuses and
        ``LimitExceededError`` at the per-tenant limit or when the topic budget is spent.
        """
        self._policy.check(endpoint, protocol=protocol)
        check_names(event_type, resource_id)
        context = current_tenant()
        tenant = context.tenant_id
        name = topic_name(self._prefix, tenant, resource_id, event_type)
        subscription_id = new_subscription_id()
        pending = {
            **self._store.key(*self._keys.subscription(tenant, subscription_id)),
            "state": _PENDING,
            "token": uuid.uuid4().hex,
            "event_type": event_type,
            "endpoint": mask_endpoint(endpoint),  # the full URL lives in SNS only
            "endpoint_key": endpoint_key(
                self._prefix, tenant, resource_id, event_type, protocol, endpoint
            ),
            "owner": context.user_id,
            "created_at": iso(now()),
        }
        if resource_id is not None:
            pending["resource_id"] = resource_id
        admin = context.has_role(*self._admin_roles)
        reservation = self._slots.reserve(pending, tenant, name, admin=admin)
        if isinstance(reservation, Subscription):
            return reservation
        topic_arn, token, subscription_id = reservation
        sns = self._client()
        try:
            response = sns.subscribe(
                TopicArn=topic_arn,
                Protocol=protocol,
                Endpoint=endpoint,
                ReturnSubscriptionArn=True,
            )
        except Exception:
            if self._slots.release(tenant, subscription_id, token, name, pending["endpoint_key"]):
                raise
            raise _removed_while_subscribing() from None
        subscription_arn = self._arns.subscription(sns, name, response["SubscriptionArn"])
        try:
            item = self._store.update(
                self._store.key(*self._keys.subscription(tenant, subscription_id)),
                # A pending record adopted by an admin becomes theirs.
                set={
                    "state": ACTIVE,
                    "subscription_arn": subscription_arn,
                    "owner": context.user_id,
                },
                condition=Attr("token").eq(token),
            )
        except ConditionFailedError:
            # A concurrent unsubscribe removed the pending record (and released its slot).
            self._unsubscribe_quietly(subscription_arn)
            raise _removed_while_subscribing() from None
        self._forget(name)
        return self._to_subscription(item, tenant)

    def publish(
        self, event_type: str, data: object, *, resource_id: str | None = None
    ) -> PublishResult:
        """Publish one event to the current tenant's topic: one read, then one ``Publish``.

        Returns ``PublishResult(published=False)`` without calling SNS when the tenant
        has no topic (nobody subscribed) for this event type and resource. A record
        naming any topic but this one raises ``TenantIsolationError``.
        """
        check_names(event_type, resource_id)
        tenant = current_tenant().tenant_id
        name = topic_name(self._prefix, tenant, resource_id, event_type)
        record = self._lookup(name)
        if (
            record is None
            or record.get("state") != ACTIVE
            or not record.get("subs")
            or "topic_arn" not in record
        ):
            return PublishResult(published=False)
        sns = self._client()
        topic_arn = self._arns.topic(sns, name, record["topic_arn"])
        message = {
            "tenantId": tenant,
            "eventType": event_type,
            "resourceId": resource_id,
            "occurredAt": iso(now()),
            "data": data,
        }
        try:
            response = sns.publish(
                TopicArn=topic_arn,
                Message=json.dumps(message, separators=(",", ":"), allow_nan=False),
                MessageAttributes={
                    "tenant_id": {"DataType": "String", "StringValue": tenant},
                    "event_type": {"DataType": "String", "StringValue": event_type},
                },
            )
        except Exception as exc:
            if aws_error_code(exc) not in ("NotFound", "NotFoundException"):
                raise
            # The topic went away after it was looked up (or cached): nobody to notify.
            self._forget(name)
            return PublishResult(published=False)
        return PublishResult(published=True, message_id=response["MessageId"], topic_arn=topic_arn)

    def unsubscribe(self, subscription_id: str) -> None:
        """Remove one of the current tenant's subscriptions; deletes the topic with the last.

        Raises ``NotFoundError`` for an unknown id, which includes every other tenant's,
        and ``ForbiddenError`` unless the caller owns it or holds an admin role.
        """
        context, record = self._owned(subscription_id)
        tenant = context.tenant_id
        name = topic_name(self._prefix, tenant, record.get("resource_id"), record["event_type"])
        if record.get("subscription_arn"):
            sns = self._client()
            subscription_arn = self._arns.subscription(sns, name, record["subscription_arn"])
            try:
                sns.unsubscribe(SubscriptionArn=subscription_arn)
            except Exception as exc:
                if aws_error_code(exc) not in ("NotFound", "NotFoundException"):
                    raise
        try:
            with self._store.transaction() as tx:
                self._slots.add_release(
                    tx, tenant, subscription_id, record["token"], name, record["endpoint_key"]
                )
        except ConditionFailedError:
            raise _not_found() from None
        self._topics.delete_if_unused(name)
        self._forget(name)

    def endpoint(self, subscription_id: str) -> str:
        """The full endpoint URL of a subscription, read back from SNS.

        Only for its owner and admins (``ForbiddenError`` for anyone else); the table
        holds the masked form only, so exports never carry webhook secrets.
        """
        context, record = self._owned(subscription_id)
        if record.get("state") != ACTIVE:
            raise _not_found()
        name = topic_name(
            self._prefix, context.tenant_id, record.get("resource_id"), record["event_type"]
        )
        sns = self._client()
        arn = self._arns.subscription(sns, name, record.get("subscription_arn"))
        try:
            attributes = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
        except Exception as exc:
            if aws_error_code(exc) not in ("NotFound", "NotFoundException"):
                raise
            raise _not_found() from None
        return attributes["Endpoint"]

    def subscriptions(
        self, *, resource_id: str | None = None, event_type: str | None = None
    ) -> list[Subscription]:
        """The current tenant's subscriptions, optionally for one resource or event type.

        Endpoints are masked for everyone. A record whose ARNs are not its topic's is
        left out (and logged as a tenant-isolation error).
        """
        tenant = current_tenant().tenant_id
        found: list[Subscription] = []
        for item in self._store.query(self._keys.subscriptions(tenant)):
            if item.get("state") != ACTIVE:
                continue
            if resource_id is not None and item.get("resource_id") != resource_id:
                continue
            if event_type is not None and item.get("event_type") != event_type:
                continue
            try:
                found.append(self._to_subscription(item, tenant))
            except TenantIsolationError:
                continue  # logged by the check
        return found

    # -- records ----------------------------------------------------------------------------

    def _client(self) -> SNSClient:
        client: SNSClient = self._sns.get()
        return client

    def _owned(self, subscription_id: object) -> tuple[TenantContext, dict[str, Any]]:
        """The caller's context and the subscription record, if the caller may manage it."""
        context = current_tenant()
        if not isinstance(subscription_id, str) or not _SUBSCRIPTION_ID.match(subscription_id):
            raise _not_found()
        key = self._store.key(*self._keys.subscription(context.tenant_id, subscription_id))
        record = self._store.get(key, consistent=True)
        if record is None:
            raise _not_found()
        if record.get("owner") != context.user_id and not context.has_role(*self._admin_roles):
            raise ForbiddenError(
                "only the user who subscribed this webhook, or an admin, may remove it or "
                "see its full endpoint"
            )
        return context, record

    def _to_subscription(self, item: Mapping[str, Any], tenant: str) -> Subscription:
        name = topic_name(self._prefix, tenant, item.get("resource_id"), item["event_type"])
        sns = self._client()
        return Subscription(
            id=self._store.sort_value(item),
            event_type=item["event_type"],
            resource_id=item.get("resource_id"),
            endpoint=item["endpoint"],
            owner=item["owner"],
            topic_arn=self._arns.topic(sns, name, item["topic_arn"]),
            subscription_arn=self._arns.subscription(sns, name, item["subscription_arn"]),
            created_at=datetime.fromisoformat(item["created_at"]),
        )

    def _lookup(self, name: str) -> dict[str, Any] | None:
        key = self._store.key(*self._keys.topic(name))
        if self._cache is None:
            return self._store.get(key)
        record = self._cache.get(name, _NOT_CACHED)
        if record is _NOT_CACHED:
            record = self._store.get(key)
            self._cache.put(name, record)
        return record

    def _forget(self, name: str) -> None:
        if self._cache is not None:
            self._cache.discard(name)

    def _unsubscribe_quietly(self, subscription_arn: str) -> None:
        try:
            self._client().unsubscribe(SubscriptionArn=subscription_arn)
        except Exception:
            logger.warning("could not remove orphaned SNS subscription", exc_info=True)


def _removed_while_subscribing() -> ConflictError:
    return ConflictError("the subscription was removed while it was being created; subscribe again")


def _not_found() -> NotFoundError:
    return NotFoundError("no such subscription in this tenant; list subscriptions to find its id")
