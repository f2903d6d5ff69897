"""One SNS topic per (tenant, resource, event type), created when the first endpoint subscribes.

A shared topic with subscription filter policies is capped at 200 filter policies per
topic and 10,000 per account; a topic per tenant and event type is capped only by the
100,000 topics per account, and a publish reaches exactly the subscribers of its tenant.

The registry keeps its records in a ``TenantTable``, so they are tenant-isolated like
any other data. Finding a topic is one ``GetItem``, never ``ListTopics``.

Race safety: each topic record carries a subscription count, a state (``active`` or
``deleting``) and a generation. A subscribe reserves a slot (count + 1, only while the
record is ``active`` and of the generation whose topic it has seen created) before it
calls SNS ``Subscribe``; a topic is marked ``deleting`` only when its count is 0, and
only the one caller that marked it deletes it. So ``Subscribe`` and ``DeleteTopic`` on a
topic never overlap, and a subscription that succeeded is never left on a deleted topic.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import random
import re
import threading
import time
import uuid
from base64 import b32encode
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Attr

from tenantkit.context import current_tenant, validate_tenant_id
from tenantkit.dynamo import TenantTable
from tenantkit.errors import (
    ConditionFailedError,
    ConfigurationError,
    ConflictError,
    InvalidKeyError,
    LimitExceededError,
    NotFoundError,
    aws_error_code,
)
from tenantkit.events.endpoints import EndpointPolicy, mask_endpoint

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sns.type_defs import TagTypeDef

__all__ = ["PublishResult", "Subscription", "TopicRegistry", "topic_name"]

logger = logging.getLogger("tenantkit.events")

_NAMESPACE = "tenantkit.events"
_PREFIX = re.compile(r"[A-Za-z0-9_]{1,32}\Z", re.ASCII)
_LITERAL = re.compile(r"[A-Za-z0-9_-]{1,64}\Z", re.ASCII)
_EVENT_TYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/=+@-]{0,127}\Z", re.ASCII)
_RESOURCE_ID = re.compile(r"[A-Za-z0-9_.:/=+@-]{1,256}\Z", re.ASCII)
_SUBSCRIPTION_ID = re.compile(r"sub_[0-9a-f]{32}\Z", re.ASCII)
_ACTIVE = "active"
_DELETING = "deleting"
_PENDING = "pending"
#: A deletion not finished after this long is taken over (its caller crashed).
_STALE_DELETION_MS = 15 * 60 * 1000
#: A subscribe still pending after this long died; the next subscribe adopts its slot.
_STALE_PENDING_S = 60
_ATTEMPTS = 12


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
    if not _PREFIX.match(prefix):
        raise ConfigurationError("topic_prefix must be 1-32 characters of [A-Za-z0-9_]")
    tenant = validate_tenant_id(tenant_id)
    parts = (prefix, _component(tenant), _component(resource_id), _component(event_type))
    return "-".join(parts)


@dataclass(frozen=True, slots=True)
class Subscription:
    """A webhook endpoint subscribed to one tenant's events. ``endpoint`` is masked."""

    id: str
    event_type: str
    resource_id: str | None
    endpoint: str
    topic_arn: str
    subscription_arn: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PublishResult:
    """Whether an event went to SNS; ``published`` is False when nobody is subscribed."""

    published: bool
    message_id: str | None = None
    topic_arn: str | None = None


class _LookupCache:
    """A bounded TTL cache of topic records, negative results included."""

    def __init__(self, ttl: float, max_entries: int) -> None:
        self._ttl = ttl
        self._max = max_entries
        self._entries: OrderedDict[str, tuple[float, dict[str, Any] | None]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[bool, dict[str, Any] | None]:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] <= time.monotonic():
                self._entries.pop(key, None)
                return False, None
            self._entries.move_to_end(key)
            return True, entry[1]

    def put(self, key: str, record: dict[str, Any] | None) -> None:
        with self._lock:
            self._entries[key] = (time.monotonic() + self._ttl, record)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def discard(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _age_seconds(iso: str) -> float:
    return (_now() - datetime.fromisoformat(iso)).total_seconds()


def _now_ms() -> int:
    return int(time.time() * 1000)


class TopicRegistry:
    """Per-tenant SNS topics for webhooks: subscribe, publish, unsubscribe, list.

    Everything acts on the current tenant (``current_tenant()``). ``cache_ttl`` (seconds)
    turns on a bounded cache of topic lookups for ``publish``, negative results
    included; a subscribe or unsubscribe in this process clears its entry, other
    processes see a change after at most ``cache_ttl``.
    """

    #: Sleeps between retries of contended writes; replaceable in tests.
    sleep: Callable[[float], None] = staticmethod(time.sleep)

    def __init__(
        self,
        table: TenantTable,
        *,
        sns_client: SNSClient | None = None,
        topic_prefix: str = "tk",
        endpoint_policy: EndpointPolicy | None = None,
        max_subscriptions_per_tenant: int = 100,
        cache_ttl: float | None = None,
        cache_max_entries: int = 1024,
    ) -> None:
        if not _PREFIX.match(topic_prefix):
            raise ConfigurationError("topic_prefix must be 1-32 characters of [A-Za-z0-9_]")
        if isinstance(max_subscriptions_per_tenant, bool) or max_subscriptions_per_tenant < 1:
            raise ConfigurationError("max_subscriptions_per_tenant must be a positive integer")
        if cache_ttl is not None and (cache_ttl <= 0 or cache_max_entries < 1):
            raise ConfigurationError("cache_ttl and cache_max_entries must be positive")
        self._table = table
        self._sns = sns_client
        self._prefix = topic_prefix
        self._policy = endpoint_policy if endpoint_policy is not None else EndpointPolicy()
        self._max_subscriptions = max_subscriptions_per_tenant
        if table.sort_key is None:
            raise ConfigurationError("TopicRegistry needs a TenantTable with a sort key")
        if table.pinned_tenant is not None:
            # Topics follow current_tenant(); a pinned table would file every tenant's
            # records under the pinned one.
            raise ConfigurationError(
                "TopicRegistry needs a TenantTable that is not pinned to a tenant; create "
                "it without tenant= so that it reads current_tenant()"
            )
        self._pk = table.partition_key
        self._sk = table.sort_key
        self._cache = None if cache_ttl is None else _LookupCache(cache_ttl, cache_max_entries)

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

        Creates the topic on first use. Subscribing the same endpoint again returns
        the existing subscription. Raises ``EndpointRefusedError`` for endpoints the
        policy refuses and ``LimitExceededError`` at the per-tenant limit.
        """
        self._policy.check(endpoint, protocol=protocol)
        _check_names(event_type, resource_id)
        tenant = current_tenant().tenant_id
        name = topic_name(self._prefix, tenant, resource_id, event_type)
        digest = hashlib.sha256(
            json.dumps([self._prefix, tenant, resource_id, event_type, protocol, endpoint]).encode()
        ).hexdigest()
        subscription_id = "sub_" + digest[:32]
        pending = {
            **self._subscription_key(subscription_id),
            "state": _PENDING,
            "token": uuid.uuid4().hex,
            "event_type": event_type,
            "endpoint": mask_endpoint(endpoint),
            "topic_name": name,
            "created_at": _iso(_now()),
        }
        if resource_id is not None:
            pending["resource_id"] = resource_id
        reservation = self._reserve(pending, tenant, resource_id)
        if isinstance(reservation, Subscription):
            return reservation
        token = reservation["token"]
        try:
            response = self._client().subscribe(
                TopicArn=reservation["topic_arn"],
                Protocol=protocol,
                Endpoint=endpoint,
                ReturnSubscriptionArn=True,
            )
        except Exception:
            if self._release(subscription_id, token, name):
                raise
            raise _removed_while_subscribing() from None
        subscription_arn = response["SubscriptionArn"]
        try:
            item = self._table.update_item(
                self._subscription_key(subscription_id),
                set={"state": _ACTIVE, "subscription_arn": subscription_arn},
                condition=Attr("token").eq(token),
            )
        except ConditionFailedError:
            # A concurrent unsubscribe removed the pending record (and released its slot).
            self._unsubscribe_quietly(subscription_arn)
            raise _removed_while_subscribing() from None
        self._forget(tenant, name)
        return self._to_subscription(item)

    def publish(
        self, event_type: str, data: object, *, resource_id: str | None = None
    ) -> PublishResult:
        """Publish one event to the current tenant's topic: one read, then one ``Publish``.

        Returns ``PublishResult(published=False)`` without calling SNS when the tenant
        has no topic (nobody subscribed) for this event type and resource.
        """
        _check_names(event_type, resource_id)
        tenant = current_tenant().tenant_id
        name = topic_name(self._prefix, tenant, resource_id, event_type)
        record = self._lookup(tenant, name)
        if (
            record is None
            or record.get("state") != _ACTIVE
            or not record.get("subs")
            or "topic_arn" not in record
        ):
            return PublishResult(published=False)
        message = {
            "tenantId": tenant,
            "eventType": event_type,
            "resourceId": resource_id,
            "occurredAt": _iso(_now()),
            "data": data,
        }
        try:
            response = self._client().publish(
                TopicArn=record["topic_arn"],
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
            self._forget(tenant, name)
            return PublishResult(published=False)
        return PublishResult(
            published=True, message_id=response["MessageId"], topic_arn=record["topic_arn"]
        )

    def unsubscribe(self, subscription_id: str) -> None:
        """Remove one of the current tenant's subscriptions; deletes the topic with the last.

        Raises ``NotFoundError`` for an unknown id, which includes every other tenant's.
        """
        if not isinstance(subscription_id, str) or not _SUBSCRIPTION_ID.match(subscription_id):
            raise _not_found()
        key = self._subscription_key(subscription_id)
        record = self._table.get_item(key, consistent=True)
        if record is None:
            raise _not_found()
        tenant = current_tenant().tenant_id
        subscription_arn = record.get("subscription_arn")
        if subscription_arn:
            try:
                self._client().unsubscribe(SubscriptionArn=subscription_arn)
            except Exception as exc:
                if aws_error_code(exc) not in ("NotFound", "NotFoundException"):
                    raise
        try:
            self._table.transact_write(self._release_ops(subscription_id, record["token"], record))
        except ConditionFailedError:
            raise _not_found() from None
        self._delete_topic_if_unused(record["topic_name"])
        self._forget(tenant, record["topic_name"])

    def subscriptions(
        self, *, resource_id: str | None = None, event_type: str | None = None
    ) -> list[Subscription]:
        """The current tenant's subscriptions, optionally for one resource or event type."""
        found: list[Subscription] = []
        for page in self._table.query_all(self._subscriptions_partition()):
            for item in page.items:
                if item.get("state") != _ACTIVE:
                    continue
                if resource_id is not None and item.get("resource_id") != resource_id:
                    continue
                if event_type is not None and item.get("event_type") != event_type:
                    continue
                found.append(self._to_subscription(item))
        return found

    # -- keys and records -----------------------------------------------------------------

    def _client(self) -> SNSClient:
        if self._sns is None:
            import boto3

            self._sns = boto3.client("sns")
        return self._sns

    def _topic_key(self, name: str) -> dict[str, str]:
        return {self._pk: f"{_NAMESPACE}#topic#{name}", self._sk: "topic"}

    def _subscriptions_partition(self) -> str:
        return f"{_NAMESPACE}#{self._prefix}#subscriptions"

    def _subscription_key(self, subscription_id: str) -> dict[str, str]:
        return {self._pk: self._subscriptions_partition(), self._sk: subscription_id}

    def _limit_key(self) -> dict[str, str]:
        return {self._pk: f"{_NAMESPACE}#{self._prefix}#limits", self._sk: "subscriptions"}

    def _to_subscription(self, item: Mapping[str, Any]) -> Subscription:
        return Subscription(
            id=item[self._sk],
            event_type=item["event_type"],
            resource_id=item.get("resource_id"),
            endpoint=item["endpoint"],
            topic_arn=item["topic_arn"],
            subscription_arn=item["subscription_arn"],
            created_at=datetime.fromisoformat(item["created_at"]),
        )

    # -- cache ---------------------------------------------------------------------------

    def _lookup(self, tenant: str, name: str) -> dict[str, Any] | None:
        if self._cache is None:
            return self._table.get_item(self._topic_key(name))
        hit, record = self._cache.get(f"{tenant}/{name}")
        if not hit:
            record = self._table.get_item(self._topic_key(name))
            self._cache.put(f"{tenant}/{name}", record)
        return record

    def _forget(self, tenant: str, name: str) -> None:
        if self._cache is not None:
            self._cache.discard(f"{tenant}/{name}")

    # -- the subscribe protocol ----------------------------------------------------------

    def _backoff(self, attempt: int) -> None:
        self.sleep(min(0.5, 0.01 * 2**attempt) * (0.5 + random.random()))  # noqa: S311

    def _reserve(
        self, pending: dict[str, Any], tenant: str, resource_id: str | None
    ) -> dict[str, Any] | Subscription:
        """Take a subscription slot on a live topic, or find the endpoint subscribed already.

        One transaction writes the ``pending`` subscription record, adds 1 to the topic's
        count (only if it is still the live generation) and to the tenant's count (only
        below the limit). Returns the reservation's ``topic_arn`` and ``token``. A pending
        record left by a subscribe that died is adopted: its slot is still held.
        """
        name = pending["topic_name"]
        subscription_key = self._subscription_key(pending[self._sk])
        for attempt in range(_ATTEMPTS):
            topic = self._live_topic(name, tenant, resource_id, pending["event_type"])
            arn = topic["topic_arn"]
            ops: list[Mapping[str, Any]] = [
                {"put": {**pending, "topic_arn": arn}, "condition": Attr(self._pk).not_exists()},
                {
                    "update": {
                        "key": self._topic_key(name),
                        "set": {"topic_arn": arn},
                        "add": {"subs": 1},
                        "condition": Attr("state").eq(_ACTIVE)
                        & Attr("generation").eq(topic["generation"]),
                    }
                },
                {
                    "update": {
                        "key": self._limit_key(),
                        "add": {"count": 1},
                        "condition": Attr("count").not_exists()
                        | Attr("count").lt(self._max_subscriptions),
                    }
                },
            ]
            try:
                self._table.transact_write(ops)
                return {"topic_arn": arn, "token": pending["token"]}
            except (ConditionFailedError, ConflictError):
                # Plain reads: unlike TransactGetItems they never conflict with transactions.
                existing = self._table.get_item(subscription_key, consistent=True)
                limit = self._table.get_item(self._limit_key(), consistent=True)
            if existing is not None and existing.get("state") == _ACTIVE:
                return self._to_subscription(existing)
            if existing is not None and _age_seconds(existing["created_at"]) > _STALE_PENDING_S:
                return {"topic_arn": existing["topic_arn"], "token": existing["token"]}
            if existing is None and limit is not None and limit["count"] >= self._max_subscriptions:
                # The topic may have been created for this subscribe: do not leave it behind.
                self._delete_topic_if_unused(name, arn)
                raise self._limit_exceeded()
            self._backoff(attempt)
        raise ConflictError("the topic is busy (being created or deleted); retry the subscribe")

    def _limit_exceeded(self) -> LimitExceededError:
        return LimitExceededError(
            f"this tenant already has {self._max_subscriptions} webhook subscriptions, "
            "the limit; unsubscribe one before adding another"
        )

    def _refuse_at_limit(self) -> None:
        """Refuse early at the limit, so a refused subscribe creates no SNS topic.

        The reservation transaction enforces the limit atomically; this read only keeps
        refused subscribes from creating topics, which count against the account's quota.
        """
        limit = self._table.get_item(self._limit_key(), consistent=True)
        if limit is not None and limit["count"] >= self._max_subscriptions:
            raise self._limit_exceeded()

    def _live_topic(
        self, name: str, tenant: str, resource_id: str | None, event_type: str
    ) -> dict[str, Any]:
        """The ``active`` topic record of this generation, with its topic created in SNS."""
        key = self._topic_key(name)
        for attempt in range(_ATTEMPTS):
            record = self._table.get_item(key, consistent=True)
            if record is None:
                self._refuse_at_limit()  # before creating anything
                record = {
                    **key,
                    "state": _ACTIVE,
                    "subs": 0,
                    "generation": uuid.uuid4().hex,
                    "topic_name": name,
                    "event_type": event_type,
                    "created_at": _iso(_now()),
                }
                if resource_id is not None:
                    record["resource_id"] = resource_id
                try:
                    self._table.put_item(record, if_not_exists=True)
                except ConditionFailedError:
                    continue  # another subscribe created it first: read theirs
            if record["state"] == _DELETING:
                if _now_ms() - int(record["deleting_at"]) > _STALE_DELETION_MS:
                    self._take_over_deletion(record)
                else:
                    self._backoff(attempt)
                continue
            if "topic_arn" not in record:
                # CreateTopic is idempotent; the record exists first, so no deletion of
                # this name can run between this call and the reservation.
                tags: list[TagTypeDef] = [
                    {"Key": "tenant_id", "Value": tenant},
                    {"Key": "event_type", "Value": event_type},
                ]
                if resource_id is not None:
                    tags.append({"Key": "resource_id", "Value": resource_id})
                response = self._client().create_topic(Name=name, Tags=tags)
                record = {**record, "topic_arn": response["TopicArn"]}
            return record
        raise ConflictError("the topic is being deleted; retry the subscribe")

    def _release_ops(
        self, subscription_id: str, token: str, record: Mapping[str, Any]
    ) -> list[Mapping[str, Any]]:
        return [
            {
                "delete": self._subscription_key(subscription_id),
                "condition": Attr("token").eq(token),
            },
            {
                "update": {
                    "key": self._topic_key(record["topic_name"]),
                    "add": {"subs": -1},
                    "condition": Attr(self._pk).exists(),
                }
            },
            {"update": {"key": self._limit_key(), "add": {"count": -1}}},
        ]

    def _release(self, subscription_id: str, token: str, name: str) -> bool:
        """Undo a reservation whose SNS ``Subscribe`` failed; False if already undone."""
        try:
            self._table.transact_write(
                self._release_ops(subscription_id, token, {"topic_name": name})
            )
        except ConditionFailedError:
            return False  # a concurrent unsubscribe removed the pending record
        self._delete_topic_if_unused(name)
        return True

    def _delete_topic_if_unused(self, name: str, topic_arn: str | None = None) -> None:
        """Delete the topic and its record if its count is 0; only one caller wins.

        ``topic_arn`` names a topic this caller created whose ARN the record may not
        hold yet (the reservation that would have stored it was refused).
        """
        marks: dict[str, Any] = {
            "state": _DELETING,
            "deleting_at": _now_ms(),
            "deleter": uuid.uuid4().hex,
        }
        if topic_arn is not None:
            marks["topic_arn"] = topic_arn
        try:
            record = self._table.update_item(
                self._topic_key(name),
                set=marks,
                condition=Attr("state").eq(_ACTIVE) & Attr("subs").lte(0),
            )
        except ConditionFailedError:
            return  # still subscribed, or someone else is deleting it
        self._finish_deletion(record)

    def _take_over_deletion(self, record: Mapping[str, Any]) -> None:
        """Finish a deletion whose caller died (its record stayed ``deleting`` too long)."""
        try:
            claimed = self._table.update_item(
                {self._pk: record[self._pk], self._sk: record[self._sk]},
                set={"deleting_at": _now_ms(), "deleter": uuid.uuid4().hex},
                condition=Attr("deleter").eq(record["deleter"]),
            )
        except ConditionFailedError:
            return
        self._finish_deletion(claimed)

    def _finish_deletion(self, record: Mapping[str, Any]) -> None:
        key = {self._pk: record[self._pk], self._sk: record[self._sk]}
        arn = record.get("topic_arn")
        if arn:
            try:
                self._client().delete_topic(TopicArn=arn)
            except Exception:
                logger.warning("could not delete SNS topic %s; it stays, empty", arn, exc_info=True)
                with contextlib.suppress(ConditionFailedError):
                    self._table.update_item(
                        key,
                        set={"state": _ACTIVE},
                        remove=["deleting_at", "deleter"],
                        condition=Attr("deleter").eq(record["deleter"]),
                    )
                return
        # ConditionFailed: another caller took the deletion over and finished it.
        with contextlib.suppress(ConditionFailedError):
            self._table.delete_item(key, condition=Attr("deleter").eq(record["deleter"]))

    def _unsubscribe_quietly(self, subscription_arn: str) -> None:
        try:
            self._client().unsubscribe(SubscriptionArn=subscription_arn)
        except Exception:
            logger.warning("could not remove orphaned SNS subscription", exc_info=True)


def _removed_while_subscribing() -> ConflictError:
    return ConflictError("the subscription was removed while it was being created; subscribe again")


def _not_found() -> NotFoundError:
    return NotFoundError("no such subscription in this tenant; list subscriptions to find its id")


def _check_names(event_type: object, resource_id: object) -> None:
    if not isinstance(event_type, str) or not _EVENT_TYPE.match(event_type):
        raise InvalidKeyError(
            "event_type must be 1-128 characters of [A-Za-z0-9_.:/=+@-], starting with a "
            "letter or digit, such as 'park-updated'"
        )
    if resource_id is not None and (
        not isinstance(resource_id, str) or not _RESOURCE_ID.match(resource_id)
    ):
        raise InvalidKeyError("resource_id must be 1-256 characters of [A-Za-z0-9_.:/=+@-]")
