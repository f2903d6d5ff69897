"""TopicRegistry: per-tenant topics, counted API calls, races, isolation and limits."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantkit.context import tenant_scope
from tenantkit.errors import (
    ConfigurationError,
    ConflictError,
    EndpointRefusedError,
    InvalidEventTypeError,
    InvalidKeyError,
    LimitExceededError,
    NoTenantContextError,
    NotFoundError,
)
from tenantkit.events import Subscription, TopicRegistry, subscription_slots, topic_name
from tests.events.conftest import TABLE, Aws, ctx

HOOK = "https://hooks.example.com/parks?token=s3cret-value"
FORBIDDEN_LOOKUPS = ("sns:ListTopics", "sns:ListSubscriptions", "sns:ListSubscriptionsByTopic")


def raw_items(aws: Aws) -> list[dict[str, Any]]:
    return aws.dynamodb.scan(TableName=TABLE)["Items"]


def topic_records(aws: Aws) -> list[dict[str, Any]]:
    return [i for i in raw_items(aws) if i["sk"]["S"] == "_topic"]


def counter(aws: Aws, sort_key: str) -> dict[str, Any]:
    """The tenant count (``_subscriptions``) or the topic budget (``_topics``)."""
    [item] = [i for i in raw_items(aws) if i["sk"]["S"] == sort_key]
    return item


def make(aws: Aws, **options: Any) -> TopicRegistry:
    return TopicRegistry(TABLE, dynamodb_client=aws.dynamodb, sns_client=aws.sns, **options)


def topics(aws: Aws) -> list[str]:
    return [t["TopicArn"] for t in aws.sns.list_topics()["Topics"]]


# -- topic names ---------------------------------------------------------------------

tenant_ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", fullmatch=True)
names = st.text(alphabet="ab-_.:/1", min_size=1, max_size=70) | st.from_regex(
    r"[A-Za-z0-9][A-Za-z0-9_.:/=+@-]{0,127}", fullmatch=True
)


@settings(max_examples=300)
@given(
    a=st.tuples(tenant_ids, st.none() | names, names),
    b=st.tuples(tenant_ids, st.none() | names, names),
)
def test_topic_names_are_valid_and_collision_free(
    a: tuple[str, str | None, str], b: tuple[str, str | None, str]
) -> None:
    name_a, name_b = topic_name("tk", *a), topic_name("tk", *b)
    for name in (name_a, name_b):
        assert 1 <= len(name) <= 256
        assert all(c.isascii() and (c.isalnum() or c in "-_") for c in name)
    assert (name_a == name_b) == (a == b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        # The reference's "{tenant}-{park}-{event}" maps each pair to the same name.
        (("a-b", "c", "d"), ("a", "b-c", "d")),
        (("texas", "big-bend", "park-updated"), ("texas", "big", "bend-park-updated")),
        (("texas", None, "park-updated"), ("texas", "n", "park-updated")),
        (("texas", "x" * 65, "e"), ("texas", "x" * 66, "e")),
    ],
)
def test_names_that_a_naive_scheme_confuses_differ(
    a: tuple[str, str | None, str], b: tuple[str, str | None, str]
) -> None:
    assert topic_name("tk", *a) != topic_name("tk", *b)


def test_names_are_readable_and_never_truncated() -> None:
    assert topic_name("tk", "texas", "big-bend", "park-updated") == (
        "tk-5_texas-8_big-bend-12_park-updated"
    )
    longest = topic_name("p" * 32, "t" * 64, "r" * 256, "e" * 128)
    assert len(longest) <= 256
    assert "t" * 64 in longest
    assert topic_name("tk", "texas", None, "park.updated").startswith("tk-5_texas-n-h")


# -- subscribe and publish -------------------------------------------------------------


def test_subscribe_creates_a_tagged_topic_with_a_fixed_number_of_calls(
    aws: Aws, registry: TopicRegistry
) -> None:
    with tenant_scope(ctx("texas")):
        sub = registry.subscribe("park-updated", HOOK, resource_id="big-bend")
        first = list(aws.calls.calls)
        aws.calls.clear()
        registry.subscribe("park-updated", "https://other.example.com/", resource_id="big-bend")
        second = list(aws.calls.calls)
    assert first == [
        "dynamodb:GetItem",
        "dynamodb:GetItem",  # the tenant's subscription count, before creating a topic
        "dynamodb:TransactWriteItems",  # the topic record and one unit of the topic budget
        "sns:CreateTopic",
        "dynamodb:TransactWriteItems",
        "sns:Subscribe",
        "dynamodb:UpdateItem",
    ]
    assert second == [
        "dynamodb:GetItem",
        "dynamodb:TransactWriteItems",
        "sns:Subscribe",
        "dynamodb:UpdateItem",
    ]
    assert sub.topic_arn.endswith(":tk-5_texas-8_big-bend-12_park-updated")
    assert sub.subscription_arn.startswith(sub.topic_arn + ":")
    assert (sub.event_type, sub.resource_id) == ("park-updated", "big-bend")
    assert sub.endpoint == "https://***.example.com/***alue"
    assert sub.owner == "user-texas"
    tags = aws.sns.list_tags_for_resource(ResourceArn=sub.topic_arn)["Tags"]
    assert {t["Key"]: t["Value"] for t in tags} == {
        "tenant_id": "texas",
        "event_type": "park-updated",
        "resource_id": "big-bend",
    }
    # The credential in the URL is stored nowhere in the table.
    assert "s3cret" not in json.dumps(raw_items(aws))


def test_publish_is_one_read_and_one_publish(aws: Aws, registry: TopicRegistry) -> None:
    with tenant_scope(ctx("texas")):
        sub = registry.subscribe("park-updated", HOOK, resource_id="big-bend")
        queue = aws.sqs.create_queue(QueueName="spy")["QueueUrl"]
        queue_arn = aws.sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
        aws.sns.subscribe(
            TopicArn=sub.topic_arn,
            Protocol="sqs",
            Endpoint=queue_arn["Attributes"]["QueueArn"],
            Attributes={"RawMessageDelivery": "true"},
        )
        aws.calls.clear()
        result = registry.publish("park-updated", {"visitors": 12}, resource_id="big-bend")
    assert aws.calls.calls == ["dynamodb:GetItem", "sns:Publish"]
    assert result.published
    assert result.message_id
    assert result.topic_arn == sub.topic_arn
    (url, post) = aws.posts[-1]
    assert url == HOOK
    body = json.loads(post["json"]["Message"])
    assert body.pop("occurredAt").endswith("Z")
    assert body == {
        "tenantId": "texas",
        "eventType": "park-updated",
        "resourceId": "big-bend",
        "data": {"visitors": 12},
    }
    message = aws.sqs.receive_message(QueueUrl=queue, MessageAttributeNames=["All"])["Messages"][0]
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes == {"tenant_id": "texas", "event_type": "park-updated"}


def test_publish_without_subscribers_makes_no_sns_call(aws: Aws, registry: TopicRegistry) -> None:
    with tenant_scope(ctx("texas")):
        result = registry.publish("park-updated", {"x": 1}, resource_id="big-bend")
    assert not result.published
    assert aws.calls.calls == ["dynamodb:GetItem"]


def test_optional_cache_includes_negative_results(aws: Aws) -> None:
    registry = make(aws, cache_ttl=60, cache_size=2)
    with tenant_scope(ctx("texas")):
        for _ in range(3):
            assert not registry.publish("park-updated", {}).published
        assert aws.calls.calls == ["dynamodb:GetItem"]
        registry.subscribe("park-updated", HOOK)  # clears this process's negative entry
        aws.calls.clear()
        for _ in range(3):
            assert registry.publish("park-updated", {}).published
        assert aws.calls.calls == ["dynamodb:GetItem"] + ["sns:Publish"] * 3
    with tenant_scope(ctx("ohio")):  # entries are per tenant
        aws.calls.clear()
        assert not registry.publish("park-updated", {}).published
        assert aws.calls.calls == ["dynamodb:GetItem"]


def test_cache_is_bounded_and_expires(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    registry = make(aws, cache_ttl=5, cache_size=2)
    with tenant_scope(ctx("texas")):
        for event in ("a", "b", "c", "a"):  # "a" was evicted by "c"
            registry.publish(event, {})
        assert aws.calls.count("dynamodb:GetItem") == 4
        later = time.monotonic() + 6
        monkeypatch.setattr(time, "monotonic", lambda: later)
        registry.publish("c", {})
        assert aws.calls.count("dynamodb:GetItem") == 5


def test_stale_cached_topic_is_not_an_error(aws: Aws) -> None:
    writer = make(aws)
    cached = make(aws, cache_ttl=60)
    with tenant_scope(ctx("texas")):
        sub = writer.subscribe("park-updated", HOOK)
        assert cached.publish("park-updated", {}).published
        writer.unsubscribe(sub.id)  # another process deletes the topic
        assert not cached.publish("park-updated", {}).published


def test_subscribing_the_same_endpoint_twice_returns_the_same_subscription(
    aws: Aws, registry: TopicRegistry
) -> None:
    with tenant_scope(ctx("texas")):
        first = registry.subscribe("park-updated", HOOK)
        again = registry.subscribe("park-updated", HOOK)
        assert again == first
        assert len(registry.subscriptions()) == 1
        registry.unsubscribe(first.id)
        assert topics(aws) == []


# -- unsubscribe, listing ----------------------------------------------------------------


def test_last_unsubscribe_deletes_topic_and_record(aws: Aws, registry: TopicRegistry) -> None:
    with tenant_scope(ctx("texas")):
        a = registry.subscribe("park-updated", HOOK)
        b = registry.subscribe("park-updated", "https://b.example.com/")
        registry.unsubscribe(a.id)
        assert topics(aws) == [a.topic_arn]
        assert registry.publish("park-updated", {}).published
        registry.unsubscribe(b.id)
        assert topics(aws) == []
        assert topic_records(aws) == []
        assert aws.sns.list_subscriptions()["Subscriptions"] == []
        aws.calls.clear()
        assert not registry.publish("park-updated", {}).published
        assert aws.calls.calls == ["dynamodb:GetItem"]
        with pytest.raises(NotFoundError):
            registry.unsubscribe(a.id)


def test_another_tenants_subscription_id_is_not_found(aws: Aws, registry: TopicRegistry) -> None:
    with tenant_scope(ctx("texas")):
        texas = registry.subscribe("park-updated", HOOK)
    with tenant_scope(ctx("california")):
        with pytest.raises(NotFoundError) as foreign:
            registry.unsubscribe(texas.id)
        with pytest.raises(NotFoundError) as unknown:
            registry.unsubscribe("sub_" + "0" * 32)
        with pytest.raises(NotFoundError) as malformed:
            registry.unsubscribe("texas#" + texas.id)
        assert str(foreign.value) == str(unknown.value) == str(malformed.value)
        assert registry.subscriptions() == []
    with tenant_scope(ctx("texas")):
        assert registry.subscriptions() == [texas]
    assert topics(aws) == [texas.topic_arn]


def test_two_tenants_get_different_topics(aws: Aws, registry: TopicRegistry) -> None:
    with tenant_scope(ctx("texas")):
        texas = registry.subscribe("park-updated", "https://tx.example.com/", resource_id="p1")
    with tenant_scope(ctx("ohio")):
        ohio = registry.subscribe("park-updated", "https://oh.example.com/", resource_id="p1")
        aws.posts.clear()
        registry.publish("park-updated", {"secret": "ohio only"}, resource_id="p1")
    assert texas.topic_arn != ohio.topic_arn
    assert [url for url, _ in aws.posts] == ["https://oh.example.com/"]


def test_subscriptions_filters(registry: TopicRegistry) -> None:
    with tenant_scope(ctx("texas")):
        a = registry.subscribe("park-updated", HOOK, resource_id="p1")
        b = registry.subscribe("park-closed", HOOK, resource_id="p1")
        c = registry.subscribe("park-updated", HOOK)
        assert {s.id for s in registry.subscriptions()} == {a.id, b.id, c.id}
        assert registry.subscriptions(resource_id="p1", event_type="park-updated") == [a]
        assert {s.id for s in registry.subscriptions(event_type="park-updated")} == {a.id, c.id}
        assert registry.subscriptions(resource_id="p2") == []


def test_limit_per_tenant(aws: Aws) -> None:
    registry = make(aws, max_subscriptions_per_tenant=2)
    with tenant_scope(ctx("texas")):
        first = registry.subscribe("a", "https://1.example.com/")
        registry.subscribe("b", "https://2.example.com/")
        with pytest.raises(LimitExceededError, match="limit"):
            registry.subscribe("c", "https://3.example.com/")
        assert len(registry.subscriptions()) == 2
        registry.unsubscribe(first.id)
        registry.subscribe("c", "https://3.example.com/")
    with tenant_scope(ctx("ohio")):
        registry.subscribe("a", "https://1.example.com/")
        registry.subscribe("b", "https://2.example.com/")


def test_refused_subscribes_leave_no_topics_behind(aws: Aws) -> None:
    registry = make(aws, max_subscriptions_per_tenant=1)
    with tenant_scope(ctx("texas")):
        kept = registry.subscribe("a", "https://1.example.com/")
        for n in range(20):
            with pytest.raises(LimitExceededError):
                registry.subscribe(f"event-{n}", "https://2.example.com/")
    # The account's topic quota is shared by every tenant: one tenant at its limit
    # must not be able to fill it with empty topics.
    assert topics(aws) == [kept.topic_arn]
    assert len(topic_records(aws)) == 1


def test_a_topic_created_by_a_subscribe_that_lost_the_race_for_the_limit_is_deleted(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = make(aws, max_subscriptions_per_tenant=1)
    with tenant_scope(ctx("texas")):
        kept = registry.subscribe("a", "https://1.example.com/")
        # As if another subscribe took the last slot between the early check and the
        # reservation: the topic gets created, then the reservation is refused.
        monkeypatch.setattr(registry._slots, "refuse_at_limit", lambda tenant: None)
        with pytest.raises(LimitExceededError):
            registry.subscribe("b", "https://2.example.com/")
    assert topics(aws) == [kept.topic_arn]
    assert len(topic_records(aws)) == 1
    assert counter(aws, "_topics")["count"] == {"N": "1"}


@pytest.mark.parametrize(
    "options",
    [
        {"topic_prefix": "a-b"},
        {"max_subscriptions_per_tenant": 0},
        {"max_subscriptions_per_tenant": True},
        {"topic_budget": 0},
        {"admin_roles": "admin"},
        {"admin_roles": ["admin", ""]},
        {"account_id": "12345"},
        {"cache_ttl": 0},
        {"cache_ttl": 1, "cache_size": 0},
        {"partition_key": "k", "sort_key": "k"},
    ],
)
def test_bad_options_are_configuration_errors(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        TopicRegistry(TABLE, **options)


# -- refusals ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "endpoint",
    ["https://169.254.169.254/", "https://u:p@hooks.example.com/", "http://hooks.example.com/"],
)
def test_refused_endpoints_make_no_aws_call(
    aws: Aws, registry: TopicRegistry, endpoint: str
) -> None:
    with tenant_scope(ctx("texas")), pytest.raises(EndpointRefusedError):
        registry.subscribe("park-updated", endpoint)
    assert aws.calls.calls == []


@pytest.mark.parametrize(
    ("event_type", "resource_id"),
    [("", None), ("a#b", None), ("a b", None), ("x" * 129, None), ("ok", ""), ("ok", "a\nb")],
)
def test_bad_event_types_and_resource_ids(event_type: str, resource_id: str | None) -> None:
    registry = TopicRegistry(TABLE)  # refused before any client is created
    refused = InvalidKeyError if event_type == "ok" else InvalidEventTypeError
    with tenant_scope(ctx("texas")), pytest.raises(refused):
        registry.publish(event_type, {}, resource_id=resource_id)


def test_no_tenant_no_registry() -> None:
    registry = TopicRegistry(TABLE)
    with pytest.raises(NoTenantContextError):
        registry.publish("park-updated", {})
    with pytest.raises(NoTenantContextError):
        registry.subscriptions()
    with pytest.raises(NoTenantContextError):
        registry.unsubscribe("sub_" + "0" * 32)
    with pytest.raises(NoTenantContextError):
        registry.endpoint("sub_" + "0" * 32)


# -- races ------------------------------------------------------------------------------


def test_sixteen_concurrent_subscribes_make_one_topic(aws: Aws, registry: TopicRegistry) -> None:
    barrier = threading.Barrier(16)
    errors: list[BaseException] = []

    def subscribe(n: int) -> None:
        with tenant_scope(ctx("texas")):
            barrier.wait()
            try:
                registry.subscribe("park-updated", f"https://h{n}.example.com/", resource_id="p1")
            except BaseException as exc:  # reported below
                errors.append(exc)

    threads = [threading.Thread(target=subscribe, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert not any(call in aws.calls.calls for call in FORBIDDEN_LOOKUPS)
    assert len(topics(aws)) == 1
    records = topic_records(aws)
    assert len(records) == 1
    assert records[0]["subs"] == {"N": "16"}
    by_topic = aws.sns.list_subscriptions_by_topic(TopicArn=topics(aws)[0])["Subscriptions"]
    assert len(by_topic) == 16
    with tenant_scope(ctx("texas")):
        assert len(registry.subscriptions()) == 16


def test_unsubscribe_during_a_subscribe_does_not_delete_its_topic(
    aws: Aws, registry: TopicRegistry
) -> None:
    """The last unsubscribe runs while another subscribe is between reserve and Subscribe."""
    with tenant_scope(ctx("texas")):
        old = registry.subscribe("park-updated", HOOK)
    ran: list[bool] = []

    def unsubscribe_old(**_: Any) -> None:
        if not ran:
            ran.append(True)
            with tenant_scope(ctx("texas")):
                registry.unsubscribe(old.id)

    aws.sns.meta.events.register("before-call.sns.Subscribe", unsubscribe_old)
    with tenant_scope(ctx("texas")):
        new = registry.subscribe("park-updated", "https://new.example.com/")
        assert ran == [True]
        assert topics(aws) == [new.topic_arn]
        assert registry.publish("park-updated", {}).published
        assert [s.id for s in registry.subscriptions()] == [new.id]
    assert aws.posts[-1][0] == "https://new.example.com/"


def test_subscribe_waits_for_a_deletion_in_progress_then_recreates(
    aws: Aws, registry: TopicRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    with tenant_scope(ctx("texas")):
        old = registry.subscribe("park-updated", HOOK)
    # Freeze a deletion half-way: record marked deleting, topic not yet deleted.
    key = {"pk": {"S": "_events#topic#" + old.topic_arn.split(":")[-1]}, "sk": {"S": "_topic"}}
    aws.dynamodb.update_item(
        TableName=TABLE,
        Key=key,
        UpdateExpression="SET #s = :d, deleting_at = :now, deleter = :who",
        ExpressionAttributeNames={"#s": "state"},
        ExpressionAttributeValues={
            ":d": {"S": "deleting"},
            ":now": {"N": str(int(time.time() * 1000))},
            ":who": {"S": "someone-else"},
        },
    )
    sleeps: list[float] = []

    def deleter_finishes(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 2:  # the other caller completes its deletion meanwhile
            aws.sns.delete_topic(TopicArn=old.topic_arn)
            aws.dynamodb.delete_item(TableName=TABLE, Key=key)

    monkeypatch.setattr(registry, "sleep", deleter_finishes)
    with tenant_scope(ctx("texas")):
        new = registry.subscribe("park-updated", "https://new.example.com/")
        assert len(sleeps) == 2
        assert topics(aws) == [new.topic_arn]
        assert topic_records(aws)[0]["subs"] == {"N": "1"}
        assert registry.publish("park-updated", {}).published


def test_concurrent_subscribes_of_one_endpoint_make_one_subscription(
    aws: Aws, registry: TopicRegistry
) -> None:
    barrier = threading.Barrier(8)
    results: list[Any] = []

    def subscribe() -> None:
        with tenant_scope(ctx("texas")):
            barrier.wait()
            try:
                results.append(registry.subscribe("park-updated", HOOK, resource_id="p1"))
            except BaseException as exc:  # reported below
                results.append(exc)

    threads = [threading.Thread(target=subscribe) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8
    assert all(isinstance(r, Subscription) for r in results), results
    done: list[Subscription] = results
    assert len({sub.id for sub in done}) == 1
    (topic_arn,) = topics(aws)
    assert len(aws.sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]) == 1
    assert topic_records(aws)[0]["subs"] == {"N": "1"}
    assert counter(aws, "_subscriptions")["count"] == {"N": "1"}
    with tenant_scope(ctx("texas")):
        assert registry.subscriptions() == [done[0]]


def test_a_stale_deletion_is_taken_over(aws: Aws, registry: TopicRegistry) -> None:
    with tenant_scope(ctx("texas")):
        old = registry.subscribe("park-updated", HOOK)
    key = {"pk": {"S": "_events#topic#" + old.topic_arn.split(":")[-1]}, "sk": {"S": "_topic"}}
    an_hour_ago = int(time.time() * 1000) - 3_600_000
    aws.dynamodb.update_item(
        TableName=TABLE,
        Key=key,
        UpdateExpression="SET #s = :d, deleting_at = :t, deleter = :who, subs = :zero",
        ExpressionAttributeNames={"#s": "state"},
        ExpressionAttributeValues={
            ":d": {"S": "deleting"},
            ":t": {"N": str(an_hour_ago)},
            ":who": {"S": "crashed"},
            ":zero": {"N": "0"},
        },
    )
    with tenant_scope(ctx("texas")):
        new = registry.subscribe("park-updated", "https://new.example.com/")
    assert "sns:DeleteTopic" in aws.calls.calls
    assert topics(aws) == [new.topic_arn]
    assert topic_records(aws)[0]["state"] == {"S": "active"}
    assert counter(aws, "_topics")["count"] == {"N": "1"}  # one topic, counted once


def test_a_failed_sns_subscribe_releases_everything(aws: Aws, registry: TopicRegistry) -> None:
    def fail(**_: Any) -> None:
        raise RuntimeError("SNS is down")

    aws.sns.meta.events.register("before-call.sns.Subscribe", fail)
    with tenant_scope(ctx("texas")), pytest.raises(RuntimeError):
        registry.subscribe("park-updated", HOOK)
    assert topics(aws) == []
    assert sorted(i["sk"]["S"] for i in raw_items(aws)) == ["_subscriptions", "_topics"]
    assert counter(aws, "_subscriptions")["count"] == {"N": "0"}
    assert counter(aws, "_topics")["count"] == {"N": "0"}


def test_concurrent_subscribes_and_unsubscribes_stay_consistent(
    aws: Aws, registry: TopicRegistry
) -> None:
    with tenant_scope(ctx("texas")):
        keep = [registry.subscribe("e", f"https://k{n}.example.com/") for n in range(4)]
    errors: list[BaseException] = []

    def churn(n: int) -> None:
        with tenant_scope(ctx("texas")):
            try:
                if n < 4:
                    registry.unsubscribe(keep[n].id)
                else:
                    registry.subscribe("e", f"https://n{n}.example.com/")
            except BaseException as exc:  # reported below
                errors.append(exc)

    threads = [threading.Thread(target=churn, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with tenant_scope(ctx("texas")):
        subs = registry.subscriptions()
    assert len(subs) == 6
    assert topics(aws) == [subs[0].topic_arn]
    live = aws.sns.list_subscriptions_by_topic(TopicArn=subs[0].topic_arn)["Subscriptions"]
    assert {s["SubscriptionArn"] for s in live} == {s.subscription_arn for s in subs}
    assert topic_records(aws)[0]["subs"] == {"N": "6"}


class Crash(BaseException):
    """The process dies mid-call: no except-Exception cleanup runs."""


def pending_ids(aws: Aws) -> list[str]:
    return [i["sk"]["S"] for i in raw_items(aws) if i.get("state") == {"S": "pending"}]


def test_a_subscribe_that_died_is_adopted_later(
    aws: Aws, registry: TopicRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(**_: Any) -> None:
        raise Crash

    aws.sns.meta.events.register("before-call.sns.Subscribe", crash, unique_id="crash")
    with tenant_scope(ctx("texas")), pytest.raises(Crash):
        registry.subscribe("park-updated", HOOK)
    aws.sns.meta.events.unregister("before-call.sns.Subscribe", unique_id="crash")
    assert len(pending_ids(aws)) == 1
    monkeypatch.setattr(registry, "sleep", lambda seconds: None)
    with tenant_scope(ctx("texas")):
        with pytest.raises(ConflictError):  # still fresh: maybe another subscribe is running
            registry.subscribe("park-updated", HOOK)
        later = datetime.now(UTC) + timedelta(seconds=61)
        monkeypatch.setattr(subscription_slots, "now", lambda: later)
        sub = registry.subscribe("park-updated", HOOK)
        assert registry.subscriptions() == [sub]
    assert pending_ids(aws) == []
    assert topic_records(aws)[0]["subs"] == {"N": "1"}
    assert counter(aws, "_subscriptions")["count"] == {"N": "1"}


@pytest.mark.parametrize("other_subscriber", [False, True])
def test_unsubscribing_a_pending_subscription_fails_that_subscribe_cleanly(
    aws: Aws, registry: TopicRegistry, other_subscriber: bool
) -> None:
    with tenant_scope(ctx("texas")):
        other = registry.subscribe("e", "https://other.example.com/") if other_subscriber else None

    def unsubscribe_pending(**_: Any) -> None:
        with tenant_scope(ctx("texas")):
            for pending in pending_ids(aws):
                registry.unsubscribe(pending)

    aws.sns.meta.events.register("before-call.sns.Subscribe", unsubscribe_pending)
    with tenant_scope(ctx("texas")), pytest.raises(ConflictError, match="removed"):
        registry.subscribe("e", HOOK)
    with tenant_scope(ctx("texas")):
        assert registry.subscriptions() == ([other] if other else [])
    if other is None:
        assert topics(aws) == []
        assert topic_records(aws) == []
    else:
        live = aws.sns.list_subscriptions_by_topic(TopicArn=other.topic_arn)["Subscriptions"]
        assert [s["SubscriptionArn"] for s in live] == [other.subscription_arn]
        assert topic_records(aws)[0]["subs"] == {"N": "1"}


def test_unsubscribe_calls(aws: Aws, registry: TopicRegistry) -> None:
    with tenant_scope(ctx("texas")):
        a = registry.subscribe("park-updated", HOOK)
        b = registry.subscribe("park-updated", "https://b.example.com/")
        aws.calls.clear()
        registry.unsubscribe(a.id)
        not_last = list(aws.calls.calls)
        aws.calls.clear()
        registry.unsubscribe(b.id)
        last = list(aws.calls.calls)
    common = ["dynamodb:GetItem", "sns:Unsubscribe", "dynamodb:TransactWriteItems"]
    assert not_last == [*common, "dynamodb:UpdateItem"]
    # The topic record goes with one unit of the budget back, in one transaction.
    assert last == [
        *common,
        "dynamodb:UpdateItem",
        "sns:DeleteTopic",
        "dynamodb:TransactWriteItems",
    ]


def test_transaction_conflicts_are_retried(
    aws: Aws, registry: TopicRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DynamoDB cancels concurrent transactions on one item; moto never does, so fake it."""
    from botocore.exceptions import ClientError

    conflicts = [2]

    def conflict(**_: Any) -> None:
        if conflicts[0]:
            conflicts[0] -= 1
            raise ClientError(
                {
                    "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                    "CancellationReasons": [
                        {"Code": "None"},
                        {"Code": "TransactionConflict"},
                        {"Code": "None"},
                    ],
                },
                "TransactWriteItems",
            )

    aws.dynamodb.meta.events.register("before-call.dynamodb.TransactWriteItems", conflict)
    monkeypatch.setattr(registry, "sleep", lambda seconds: None)
    with tenant_scope(ctx("texas")):
        sub = registry.subscribe("park-updated", HOOK)
        assert registry.subscriptions() == [sub]
    assert conflicts == [0]
    assert topic_records(aws)[0]["subs"] == {"N": "1"}


def test_clients_built_from_a_boto3_session_and_config(aws: Aws) -> None:
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(region_name="us-east-1")
    built = TopicRegistry(
        TABLE, boto3_session=session, boto_config=Config(retries={"max_attempts": 2})
    )
    with tenant_scope(ctx("texas")):
        sub = built.subscribe("park-updated", HOOK)
        assert built.publish("park-updated", {"x": 1}).published
    assert sub.topic_arn.startswith("arn:aws:sns:us-east-1:")
    # One rule everywhere: an injected client and a session (or config) are refused.
    for injected in ({"dynamodb_client": aws.dynamodb}, {"sns_client": aws.sns}):
        for options in ({"boto3_session": session}, {"boto_config": Config()}):
            with pytest.raises(ConfigurationError, match="not both"):
                TopicRegistry(TABLE, **injected, **options)  # type: ignore[arg-type]
