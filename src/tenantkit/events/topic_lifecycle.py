"""Race-safe creation and deletion of the registry's SNS topics, within a topic budget.

Each topic record carries a subscription count, a state (``active`` or ``deleting``) and
a generation. A subscribe reserves a slot (count + 1, only while the record is
``active`` and of the generation whose topic it has seen created) before it calls SNS
``Subscribe``; a topic is marked ``deleting`` only when its count is 0, and only the one
caller that marked it deletes it. So ``Subscribe`` and ``DeleteTopic`` on a topic never
overlap, and a subscription that succeeded is never left on a deleted topic.

The account's 100,000 topics are shared by every tenant, so the registry keeps a budget:
a topic record is created in one transaction with +1 on the budget counter (only below
the budget) and deleted in one transaction with -1, by the one caller whose deletion
mark holds. An SNS topic exists only while its record does, so the counter never falls
below the number of topics, and the budget is never exceeded, however many registries
(processes) share the table.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Attr

from tenantkit._shared.backoff import Backoff
from tenantkit._shared.dynamodb.control_plane import ControlPlaneStore
from tenantkit.errors import ConditionFailedError, ConflictError, LimitExceededError
from tenantkit.events.registry_records import RegistryKeys, TopicArns

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sns.type_defs import TagTypeDef

__all__ = ["ACTIVE", "ATTEMPTS", "TopicLifecycle", "iso", "now"]

logger = logging.getLogger("tenantkit.events")

ACTIVE = "active"
DELETING = "deleting"
ATTEMPTS = 12
#: A deletion not finished after this long is taken over (its caller crashed).
STALE_DELETION_MS = 15 * 60 * 1000


def now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _now_ms() -> int:
    return int(time.time() * 1000)


class TopicLifecycle:
    """Finds or creates a topic's live generation, and deletes unused topics.

    ``before_create(tenant)`` runs before a topic record is created (the registry refuses
    there at the tenant's limit); ``backoff`` spaces contended retries.
    """

    def __init__(
        self,
        store: ControlPlaneStore,
        keys: RegistryKeys,
        arns: TopicArns,
        sns: Callable[[], SNSClient],
        *,
        budget: int,
        before_create: Callable[[str], None],
        backoff: Backoff,
    ) -> None:
        self._store = store
        self._keys = keys
        self._arns = arns
        self._sns = sns
        self._budget = budget
        self._before_create = before_create
        self._backoff = backoff
        self._budget_key = store.key(*keys.budget())

    def live(
        self, name: str, tenant: str, resource_id: str | None, event_type: str
    ) -> dict[str, Any]:
        """The ``active`` topic record of this generation, with its topic created in SNS."""
        key = self._store.key(*self._keys.topic(name))
        for attempt in range(ATTEMPTS):
            record = self._store.get(key, consistent=True)
            if record is None:
                self._before_create(tenant)  # before creating anything
                try:
                    record = self._create_record(key, tenant, resource_id, event_type)
                except ConflictError:  # the budget counter is busy: every topic uses it
                    self._backoff.wait(attempt)
                    continue
                if record is None:
                    continue  # another subscribe created it first: read theirs
            if record["state"] == DELETING:
                if _now_ms() - int(record["deleting_at"]) > STALE_DELETION_MS:
                    self._take_over(record, name)
                else:
                    self._backoff.wait(attempt)
                continue
            sns = self._sns()
            if "topic_arn" in record:
                self._arns.topic(sns, name, record["topic_arn"])
            else:
                # CreateTopic is idempotent; the record exists first, so no deletion of
                # this name can run between this call and the reservation.
                tags: list[TagTypeDef] = [
                    {"Key": "tenant_id", "Value": tenant},
                    {"Key": "event_type", "Value": event_type},
                ]
                if resource_id is not None:
                    tags.append({"Key": "resource_id", "Value": resource_id})
                try:
                    created = sns.create_topic(Name=name, Tags=tags)["TopicArn"]
                except Exception:
                    self._roll_back(key, record)
                    raise
                record = {**record, "topic_arn": self._arns.created(sns, name, created)}
            return record
        raise ConflictError("the topic is busy (being created or deleted); retry the subscribe")

    def _create_record(
        self, key: Mapping[str, str], tenant: str, resource_id: str | None, event_type: str
    ) -> dict[str, Any] | None:
        """Put a new topic record and take one unit of the budget, atomically.

        ``None`` when another caller created the record first.
        """
        record: dict[str, Any] = {
            **key,
            "state": ACTIVE,
            "subs": 0,
            "generation": uuid.uuid4().hex,
            "tenant_id": tenant,
            "event_type": event_type,
            "created_at": iso(now()),
        }
        if resource_id is not None:
            record["resource_id"] = resource_id
        try:
            with self._store.transaction() as tx:
                tx.put(record, if_not_exists=True)
                tx.update(
                    self._budget_key,
                    add={"count": 1},
                    condition=Attr("count").not_exists() | Attr("count").lt(self._budget),
                )
        except ConditionFailedError as refused:
            if 0 in refused.failed_indexes:
                return None
            raise LimitExceededError(
                f"the webhook topic budget ({self._budget} topics, shared by every tenant) "
                "is used up; no new topic can be created until others are deleted"
            ) from None
        return record

    def _roll_back(self, key: Mapping[str, str], record: Mapping[str, Any]) -> None:
        """Remove a record whose ``CreateTopic`` failed, and give its budget unit back.

        Only while it is still that generation, with no topic and no subscription: a
        failed create then holds no unit. A record a crashed caller left behind stays
        until the next subscribe of its topic creates the topic (``live``).
        """
        for attempt in range(ATTEMPTS):
            try:
                with self._store.transaction() as tx:
                    tx.delete(
                        key,
                        condition=Attr("generation").eq(record["generation"])
                        & Attr("state").eq(ACTIVE)
                        & Attr("topic_arn").not_exists()
                        & Attr("subs").lte(0),
                    )
                    tx.update(self._budget_key, add={"count": -1})
            except ConditionFailedError:
                return  # no longer ours to remove: another subscribe went on with it
            except ConflictError:
                self._backoff.wait(attempt)
                continue
            return
        logger.warning("the record of a topic whose creation failed stays until reused")

    def delete_if_unused(self, name: str, topic_arn: str | None = None) -> None:
        """Delete the topic and its record if its count is 0; only one caller wins.

        ``topic_arn`` names a topic this caller created whose ARN the record may not
        hold yet (the reservation that would have stored it was refused).
        """
        marks: dict[str, Any] = {
            "state": DELETING,
            "deleting_at": _now_ms(),
            "deleter": uuid.uuid4().hex,
        }
        if topic_arn is not None:
            marks["topic_arn"] = topic_arn
        try:
            record = self._store.update(
                self._store.key(*self._keys.topic(name)),
                set=marks,
                condition=Attr("state").eq(ACTIVE) & Attr("subs").lte(0),
            )
        except ConditionFailedError:
            return  # still subscribed, or someone else is deleting it
        self._finish(record, name)

    def _take_over(self, record: Mapping[str, Any], name: str) -> None:
        """Finish a deletion whose caller died (its record stayed ``deleting`` too long)."""
        try:
            claimed = self._store.update(
                self._store.key(*self._keys.topic(name)),
                set={"deleting_at": _now_ms(), "deleter": uuid.uuid4().hex},
                condition=Attr("deleter").eq(record["deleter"]),
            )
        except ConditionFailedError:
            return
        self._finish(claimed, name)

    def _finish(self, record: Mapping[str, Any], name: str) -> None:
        key = self._store.key(*self._keys.topic(name))
        stored = record.get("topic_arn")
        if stored:
            sns = self._sns()
            arn = self._arns.topic(sns, name, stored)  # a forged ARN is never deleted
            try:
                sns.delete_topic(TopicArn=arn)
            except Exception:
                logger.warning("could not delete SNS topic %s; it stays, empty", arn, exc_info=True)
                with contextlib.suppress(ConditionFailedError):
                    self._store.update(
                        key,
                        set={"state": ACTIVE},
                        remove=["deleting_at", "deleter"],
                        condition=Attr("deleter").eq(record["deleter"]),
                    )
                return
        for attempt in range(ATTEMPTS):
            try:
                with self._store.transaction() as tx:
                    tx.delete(key, condition=Attr("deleter").eq(record["deleter"]))
                    tx.update(self._budget_key, add={"count": -1})
            except ConditionFailedError:
                return  # another caller took the deletion over and finished it
            except ConflictError:
                self._backoff.wait(attempt)
                continue
            return
        # Still contended: the record stays "deleting" and is taken over once stale.
        logger.warning("the record of deleted topic %s stays until a later clean-up", name)
