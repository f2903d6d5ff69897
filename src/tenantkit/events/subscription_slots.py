"""Subscription slots: the per-tenant limit, and a slot reserved before SNS ``Subscribe``.

A subscribe first reserves a slot in one transaction: it writes its ``pending``
subscription record and its endpoint's record (one subscription per endpoint), adds 1
to the topic's count (only while the topic is ``active`` and of the generation whose
topic it has seen created) and 1 to the tenant's count (only below the limit). Only then
does it call SNS. An unsubscribe, or a failed ``Subscribe``, releases the slot in one
transaction: the records go, both counts drop.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Attr

from tenantkit._shared.backoff import Backoff
from tenantkit._shared.dynamodb.control_plane import ControlPlaneStore
from tenantkit._shared.dynamodb.transact import Transaction
from tenantkit.errors import ConditionFailedError, ConflictError, LimitExceededError
from tenantkit.events.registry_records import RegistryKeys, Subscription
from tenantkit.events.topic_lifecycle import ACTIVE, ATTEMPTS, TopicLifecycle, now

__all__ = ["Reservation", "SubscriptionSlots"]

#: A subscribe still pending after this long died; the next subscribe adopts its slot.
STALE_PENDING_S = 60

Reservation = tuple[str, str, str]
"""The topic ARN, the token and the subscription id of a reserved slot."""


class SubscriptionSlots:
    """Reserves and releases slots under ``limit`` subscriptions per tenant.

    ``to_subscription(item, tenant)`` turns an existing active record into the
    ``Subscription`` a repeated subscribe returns; ``checked_topic(name, arn)`` refuses
    a topic ARN that is not the topic's own.
    """

    def __init__(
        self,
        store: ControlPlaneStore,
        keys: RegistryKeys,
        topics: TopicLifecycle,
        *,
        limit: int,
        to_subscription: Callable[[Mapping[str, Any], str], Subscription],
        checked_topic: Callable[[str, object], str],
        backoff: Backoff,
    ) -> None:
        self._store = store
        self._keys = keys
        self._topics = topics
        self._limit = limit
        self._to_subscription = to_subscription
        self._checked_topic = checked_topic
        self._backoff = backoff

    def reserve(
        self, pending: dict[str, Any], tenant: str, name: str, *, admin: bool
    ) -> Reservation | Subscription:
        """Take a slot on a live topic, or find the endpoint subscribed already.

        The endpoint's record (``RegistryKeys.endpoint``) is written with the pending
        subscription, so an endpoint is one subscription per topic. Found subscribed: its
        owner gets it back, an ``admin`` takes it over (the previous owner loses it), and
        anyone else gets a ``ConflictError`` that names neither it nor its owner. A pending
        record left by a subscribe that died is adopted: its slot is still held.
        """
        store = self._store
        count_key = store.key(*self._keys.tenant_count(tenant))
        claim_key = store.key(*self._keys.endpoint(tenant, pending["endpoint_key"]))
        subscription_id = store.sort_value(pending)
        for attempt in range(ATTEMPTS):
            topic = self._topics.live(
                name, tenant, pending.get("resource_id"), pending["event_type"]
            )
            arn: str = topic["topic_arn"]
            try:
                with store.transaction() as tx:
                    tx.put({**pending, "topic_arn": arn}, if_not_exists=True)
                    tx.put({**claim_key, "subscription_id": subscription_id}, if_not_exists=True)
                    tx.update(
                        store.key(*self._keys.topic(name)),
                        set={"topic_arn": arn},
                        add={"subs": 1},
                        condition=Attr("state").eq(ACTIVE)
                        & Attr("generation").eq(topic["generation"]),
                    )
                    tx.update(
                        count_key,
                        add={"count": 1},
                        condition=Attr("count").not_exists() | Attr("count").lt(self._limit),
                    )
                return arn, pending["token"], subscription_id
            except (ConditionFailedError, ConflictError):
                # Plain reads: unlike TransactGetItems they never conflict with transactions.
                claim = store.get(claim_key, consistent=True)
                count = store.get(count_key, consistent=True)
            existing = None
            if claim is not None:
                existing_key = store.key(*self._keys.subscription(tenant, claim["subscription_id"]))
                existing = store.get(existing_key, consistent=True)
            if claim is not None and existing is not None:
                if existing["owner"] != pending["owner"] and not admin:
                    raise ConflictError(
                        "another user of this tenant has subscribed this endpoint to these "
                        "events; only an admin can take it over"
                    )
                if existing.get("state") == ACTIVE:
                    owned = self._owned_by(existing_key, existing, pending["owner"])
                    if owned is not None:
                        return self._to_subscription(owned, tenant)
                elif _age_seconds(existing["created_at"]) > STALE_PENDING_S:
                    topic_arn = self._checked_topic(name, existing.get("topic_arn"))
                    return topic_arn, existing["token"], claim["subscription_id"]
            elif claim is None and count is not None and count["count"] >= self._limit:
                # The topic may have been created for this subscribe: do not leave it behind.
                self._topics.delete_if_unused(name, arn)
                raise self._limit_exceeded()
            self._backoff.wait(attempt)
        raise ConflictError("the topic is busy (being created or deleted); retry the subscribe")

    def _owned_by(
        self, key: Mapping[str, str], record: dict[str, Any], owner: str
    ) -> dict[str, Any] | None:
        """The active ``record``, made ``owner``'s; None if it changed meanwhile."""
        if record["owner"] == owner:
            return record
        try:
            return self._store.update(
                key,
                set={"owner": owner},
                condition=Attr("token").eq(record["token"]) & Attr("state").eq(ACTIVE),
            )
        except ConditionFailedError:
            return None

    def refuse_at_limit(self, tenant: str) -> None:
        """Refuse early at the limit, so a refused subscribe creates no SNS topic.

        The reservation transaction enforces the limit atomically; this read only keeps
        refused subscribes from creating topics, which count against the account's quota.
        """
        count = self._store.get(self._store.key(*self._keys.tenant_count(tenant)), consistent=True)
        if count is not None and count["count"] >= self._limit:
            raise self._limit_exceeded()

    def _limit_exceeded(self) -> LimitExceededError:
        return LimitExceededError(
            f"this tenant already has {self._limit} webhook subscriptions, the limit; "
            "unsubscribe one before adding another"
        )

    def add_release(
        self,
        tx: Transaction,
        tenant: str,
        subscription_id: str,
        token: str,
        name: str,
        endpoint_key: str,
    ) -> None:
        """Add to ``tx`` the writes that remove a subscription record (and its endpoint's
        record) and give its slot back."""
        store = self._store
        tx.delete(
            store.key(*self._keys.subscription(tenant, subscription_id)),
            condition=Attr("token").eq(token),
        )
        tx.delete(
            store.key(*self._keys.endpoint(tenant, endpoint_key)),
            condition=Attr("subscription_id").eq(subscription_id),
        )
        tx.update(
            store.key(*self._keys.topic(name)),
            add={"subs": -1},
            condition=Attr(store.partition_key).exists(),
        )
        tx.update(store.key(*self._keys.tenant_count(tenant)), add={"count": -1})

    def release(
        self, tenant: str, subscription_id: str, token: str, name: str, endpoint_key: str
    ) -> bool:
        """Undo a reservation whose SNS ``Subscribe`` failed; False if already undone."""
        try:
            with self._store.transaction() as tx:
                self.add_release(tx, tenant, subscription_id, token, name, endpoint_key)
        except ConditionFailedError:
            return False  # a concurrent unsubscribe removed the pending record
        self._topics.delete_if_unused(name)
        return True


def _age_seconds(created_at: str) -> float:
    return (now() - datetime.fromisoformat(created_at)).total_seconds()
