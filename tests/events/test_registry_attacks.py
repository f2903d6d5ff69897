"""Attacks on TopicRegistry: inside a tenant (issue 11 item 4) and through stored records (item 5).

Item 4: a visitor must not delete an admin's webhook or read its full endpoint.
Item 5: tenant A writes a registry record pointing at tenant B's topic or subscription,
through a TenantTable or with a raw put of a hand-built key; the registry refuses
(``TenantIsolationError``) and never touches B's topic.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import boto3
import pytest

from tenantkit.context import TenantContext, tenant_scope
from tenantkit.dynamo import TenantTable
from tenantkit.errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    TenantIsolationError,
)
from tenantkit.events import Subscription, TopicRegistry, topic_name
from tests.events.conftest import TABLE, Aws, CallLog

SECRET_HOOK = "https://s3cr3tlabel.hooks.example.com/in;key=Q9x7Zr2Lm4Np/hook"


def user(tenant: str, name: str, *roles: str) -> TenantContext:
    return TenantContext(tenant_id=tenant, user_id=name, roles=frozenset(roles))


ALICE = user("texas", "alice", "admin")
CAROL = user("texas", "carol", "visitor")
MIA = user("texas", "mia", "member")
BOB = user("ohio", "bob", "admin")


def raw_items(aws: Aws) -> list[dict[str, Any]]:
    return aws.dynamodb.scan(TableName=TABLE)["Items"]


def live_subscriptions(aws: Aws, topic_arn: str) -> list[str]:
    found = aws.sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
    return [s["SubscriptionArn"] for s in found]


# -- item 4: owners and admins ----------------------------------------------------------


def test_the_owner_is_recorded(registry: TopicRegistry) -> None:
    with tenant_scope(CAROL):
        sub = registry.subscribe("park-closed", "https://hooks.example.com/carol")
    assert sub.owner == "carol"
    with tenant_scope(ALICE):
        assert [s.owner for s in registry.subscriptions()] == ["carol"]


def test_attack_a_visitor_cannot_delete_an_admins_webhook(
    aws: Aws, registry: TopicRegistry
) -> None:
    with tenant_scope(ALICE):
        sub = registry.subscribe("park-closed", SECRET_HOOK)
    for intruder in (CAROL, MIA):
        with tenant_scope(intruder), pytest.raises(ForbiddenError) as refused:
            registry.unsubscribe(sub.id)
        assert refused.value.status_code == 403
    assert live_subscriptions(aws, sub.topic_arn) == [sub.subscription_arn]
    with tenant_scope(ALICE):
        assert registry.subscriptions() == [sub]


def test_attack_a_visitor_cannot_read_an_admins_full_endpoint(
    aws: Aws, registry: TopicRegistry
) -> None:
    with tenant_scope(ALICE):
        sub = registry.subscribe("park-closed", SECRET_HOOK)
    aws.calls.clear()
    with tenant_scope(CAROL):
        with pytest.raises(ForbiddenError):
            registry.endpoint(sub.id)
        [listed] = registry.subscriptions()
    assert listed.endpoint == "https://***.example.com/***hook"
    for secret in ("s3cr3tlabel", "Q9x7Zr2Lm4Np", "key="):
        assert secret not in repr(listed)
    assert "sns:GetSubscriptionAttributes" not in aws.calls.calls


def test_the_full_endpoint_lives_only_in_sns(aws: Aws, registry: TopicRegistry) -> None:
    """Decision 14: the table (and so any export) holds the masked form only."""
    with tenant_scope(CAROL):
        own = registry.subscribe("park-closed", SECRET_HOOK)
        aws.calls.clear()
        assert registry.endpoint(own.id) == SECRET_HOOK
        assert aws.calls.calls == ["dynamodb:GetItem", "sns:GetSubscriptionAttributes"]
    with tenant_scope(ALICE):  # an admin reads anyone's
        assert registry.endpoint(own.id) == SECRET_HOOK
    dump = json.dumps(raw_items(aws))
    for secret in ("s3cr3tlabel", "Q9x7Zr2Lm4Np", SECRET_HOOK):
        assert secret not in dump


def test_owners_remove_their_own_and_admins_remove_anyones(
    aws: Aws, registry: TopicRegistry
) -> None:
    with tenant_scope(CAROL):
        carols = registry.subscribe("park-closed", "https://hooks.example.com/carol")
    with tenant_scope(MIA):
        mias = registry.subscribe("park-closed", "https://hooks.example.com/mia")
        with pytest.raises(ForbiddenError):
            registry.unsubscribe(carols.id)
        registry.unsubscribe(mias.id)
    with tenant_scope(ALICE):
        registry.unsubscribe(carols.id)
        assert registry.subscriptions() == []
    assert aws.sns.list_topics()["Topics"] == []


def test_admin_roles_is_an_option(aws: Aws) -> None:
    registry = TopicRegistry(
        TABLE, dynamodb_client=aws.dynamodb, sns_client=aws.sns, admin_roles=("ops",)
    )
    with tenant_scope(CAROL):
        sub = registry.subscribe("park-closed", "https://hooks.example.com/carol")
    with tenant_scope(ALICE), pytest.raises(ForbiddenError):  # "admin" is not an admin here
        registry.unsubscribe(sub.id)
    with tenant_scope(user("texas", "olga", "ops")):
        assert registry.endpoint(sub.id) == "https://hooks.example.com/carol"
        registry.unsubscribe(sub.id)
    owners_only = TopicRegistry(
        TABLE, dynamodb_client=aws.dynamodb, sns_client=aws.sns, admin_roles=()
    )
    with tenant_scope(CAROL):
        sub = owners_only.subscribe("park-closed", "https://hooks.example.com/carol")
    with tenant_scope(ALICE), pytest.raises(ForbiddenError):
        owners_only.unsubscribe(sub.id)


def test_another_tenants_id_is_not_found_for_admins_too(registry: TopicRegistry) -> None:
    with tenant_scope(ALICE):
        sub = registry.subscribe("park-closed", SECRET_HOOK)
    with tenant_scope(BOB):
        for call in (registry.unsubscribe, registry.endpoint):
            with pytest.raises(NotFoundError):
                call(sub.id)


# -- item 5: stored records are not trusted ---------------------------------------------


def victim(registry: TopicRegistry) -> Subscription:
    with tenant_scope(BOB):
        return registry.subscribe("park-closed", "https://victim.example.com/")


def forge(aws: Aws, pk: str, sk: str, **attributes: str | int) -> None:
    """A raw put with a hand-built key, as a route that lets a caller choose keys would."""
    item: dict[str, Any] = {"pk": {"S": pk}, "sk": {"S": sk}}
    for name, value in attributes.items():
        item[name] = {"N": str(value)} if isinstance(value, int) else {"S": value}
    aws.dynamodb.put_item(TableName=TABLE, Item=item)


def forge_topic(aws: Aws, tenant: str, topic_arn: str, subs: int = 1) -> str:
    name = topic_name("tk", tenant, None, "park-closed")
    forge(
        aws,
        f"_events#topic#{name}",
        "_topic",
        state="active",
        subs=subs,
        generation="forged",
        event_type="park-closed",
        created_at="2026-01-01T00:00:00.000Z",
        topic_arn=topic_arn,
    )
    return name


def test_attack_records_written_through_a_tenant_table_are_never_read(
    aws: Aws, registry: TopicRegistry, table: TenantTable
) -> None:
    bobs = victim(registry)
    name = topic_name("tk", "texas", None, "park-closed")
    forged = {
        "state": "active",
        "subs": 1,
        "generation": "g",
        "event_type": "park-closed",
        "topic_arn": bobs.topic_arn,
    }
    with tenant_scope(ALICE):
        # Where registry records used to live, and where they live now, as seen from
        # a TenantTable: each write lands under "texas#", never under "_events#".
        table.put_item({"pk": f"tenantkit.events#topic#{name}", "sk": "topic", **forged})
        table.put_item({"pk": f"_events#topic#{name}", "sk": "_topic", **forged})
        aws.posts.clear()
        assert not registry.publish("park-closed", {"forged": True}).published
        own = registry.subscribe("park-closed", "https://texas.example.com/")
        assert registry.publish("park-closed", {"own": True}).published
    assert own.topic_arn != bobs.topic_arn
    assert [url for url, _ in aws.posts] == ["https://texas.example.com/"]
    assert live_subscriptions(aws, bobs.topic_arn) == [bobs.subscription_arn]
    written = [i for i in raw_items(aws) if i.get("generation") == {"S": "g"}]
    assert len(written) == 2
    assert all(i["pk"]["S"].startswith("texas#") for i in written)


@pytest.mark.parametrize(
    "arn_of",
    [
        lambda bobs: bobs,  # tenant B's real topic
        lambda bobs: bobs.replace("us-east-1", "eu-west-1"),
        lambda bobs: bobs.replace("123456789012", "210987654321"),
        lambda bobs: bobs.replace("arn:aws:", "arn:aws-cn:"),
    ],
    ids=["other-tenant", "other-region", "other-account", "other-partition"],
)
def test_attack_a_forged_topic_record_is_refused(
    aws: Aws, registry: TopicRegistry, arn_of: Any
) -> None:
    bobs = victim(registry)
    # Tenant A's own record, naming B's topic, or A's own topic name somewhere else.
    forged_arn = arn_of(bobs.topic_arn)
    if forged_arn != bobs.topic_arn:
        bobs_name = topic_name("tk", "ohio", None, "park-closed")
        forged_arn = forged_arn.replace(bobs_name, topic_name("tk", "texas", None, "park-closed"))
    forge_topic(aws, "texas", forged_arn)
    aws.posts.clear()
    aws.calls.clear()
    with tenant_scope(ALICE):
        with pytest.raises(TenantIsolationError):
            registry.publish("park-closed", {"injected": True})
        with pytest.raises(TenantIsolationError):
            registry.subscribe("park-closed", "https://mallory.example.com/")
    assert aws.posts == []
    sns_calls = [c for c in aws.calls.calls if c.startswith("sns:")]
    assert sns_calls == []
    assert live_subscriptions(aws, bobs.topic_arn) == [bobs.subscription_arn]


def test_attack_a_forged_subscription_record_cannot_touch_another_tenants_subscription(
    aws: Aws, registry: TopicRegistry
) -> None:
    bobs = victim(registry)
    with tenant_scope(ALICE):
        own = registry.subscribe("park-closed", "https://texas.example.com/")
    forged_id = "sub_" + "f" * 32
    forge(
        aws,
        "_events#subs#tk#texas",
        forged_id,
        state="active",
        token="t",
        event_type="park-closed",
        endpoint="https://***.example.com/***com/",
        owner="alice",
        created_at="2026-01-01T00:00:00.000Z",
        topic_arn=bobs.topic_arn,
        subscription_arn=bobs.subscription_arn,
    )
    aws.calls.clear()
    with tenant_scope(ALICE):
        with pytest.raises(TenantIsolationError):
            registry.unsubscribe(forged_id)
        with pytest.raises(TenantIsolationError):  # would read B's full endpoint
            registry.endpoint(forged_id)
        assert registry.subscriptions() == [own]  # the forged record is left out
    assert [c for c in aws.calls.calls if c.startswith("sns:")] == []
    assert live_subscriptions(aws, bobs.topic_arn) == [bobs.subscription_arn]


def test_attack_a_forged_topic_arn_is_never_deleted(aws: Aws, registry: TopicRegistry) -> None:
    """The last unsubscribe deletes the topic its record names: never another tenant's."""
    bobs = victim(registry)
    with tenant_scope(ALICE):
        own = registry.subscribe("park-closed", "https://texas.example.com/")
    forge_topic(aws, "texas", bobs.topic_arn)  # A's record now names B's topic
    with tenant_scope(ALICE), pytest.raises(TenantIsolationError):
        registry.unsubscribe(own.id)
    assert "sns:DeleteTopic" not in aws.calls.calls
    assert bobs.topic_arn in [t["TopicArn"] for t in aws.sns.list_topics()["Topics"]]
    assert live_subscriptions(aws, bobs.topic_arn) == [bobs.subscription_arn]


def test_the_arn_check_costs_no_call_once_the_account_is_known(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Publishing stays one GetItem and one Publish; an unknown account costs one STS
    call per registry (none with account_id=, none after a CreateTopic)."""
    sts_calls = CallLog()
    real_client = boto3.client

    def client(service: str, *args: Any, **kwargs: Any) -> Any:
        made = real_client(service, *args, **kwargs)  # type: ignore[call-overload]
        if service == "sts":
            sts_calls.attach(made)
        return made

    monkeypatch.setattr(boto3, "client", client)
    options = {"dynamodb_client": aws.dynamodb, "sns_client": aws.sns}
    with tenant_scope(ALICE):
        TopicRegistry(TABLE, **options).subscribe("park-closed", "https://texas.example.com/")
        assert sts_calls.calls == []  # learned from CreateTopic
        fresh = TopicRegistry(TABLE, **options)
        given = TopicRegistry(TABLE, account_id="123456789012", **options)
        aws.calls.clear()
        for _ in range(3):
            assert fresh.publish("park-closed", {}).published
            assert given.publish("park-closed", {}).published
    assert sts_calls.calls == ["sts:GetCallerIdentity"]
    assert aws.calls.calls == ["dynamodb:GetItem", "sns:Publish"] * 6
    wrong = TopicRegistry(TABLE, account_id="210987654321", **options)
    with tenant_scope(ALICE), pytest.raises(TenantIsolationError):
        wrong.publish("park-closed", {})


# -- review: the id is no oracle of the URL, and no squatting ----------------------------

PIN_HOOK = "https://hooks.partner.example.com/in?pin={:06d}"


def old_style_ids(tenant: str, resource_id: str, event_type: str, url: str) -> set[str]:
    """Every unkeyed hash of the URL's guessable inputs an attacker would try."""
    ids = set()
    for prefix in ("tk",):
        for protocol in ("https", "http"):
            fields = [prefix, tenant, resource_id, event_type, protocol, url]
            for encoded in (json.dumps(fields), "|".join(fields), "".join(fields)):
                digest = hashlib.sha256(encoded.encode()).hexdigest()
                ids.add("sub_" + digest[:32])
    return ids


def test_attack_a_visitor_cannot_recover_a_secret_url_from_the_id(
    aws: Aws, registry: TopicRegistry
) -> None:
    secret = PIN_HOOK.format(481516)
    with tenant_scope(ALICE):
        registry.subscribe("park-updated", secret, resource_id="p1")
    with tenant_scope(CAROL):
        seen = registry.subscriptions(resource_id="p1")[0]
    # The offline brute force of the review: try every pin whose URL ends as the mask does.
    recovered = [
        pin
        for pin in range(481000, 482000)
        if seen.id in old_style_ids("texas", "p1", "park-updated", PIN_HOOK.format(pin))
    ]
    assert recovered == []
    assert seen.id not in old_style_ids("texas", "p1", "park-updated", secret)
    # The dedupe key is a hash of the URL; it stays in the control plane, never shown.
    with tenant_scope(ALICE):
        shown = json.dumps([str(getattr(s, f)) for s in registry.subscriptions() for f in FIELDS])
    dedupe_keys = {i["sk"]["S"] for i in raw_items(aws) if i["pk"]["S"].startswith("_events#ep#")}
    assert dedupe_keys
    assert not any(k in shown for k in dedupe_keys)


FIELDS = Subscription.__slots__


def test_the_id_is_random_not_derived_from_the_endpoint(registry: TopicRegistry) -> None:
    with tenant_scope(ALICE):
        first = registry.subscribe("park-updated", "https://hooks.example.com/a")
        registry.unsubscribe(first.id)
        second = registry.subscribe("park-updated", "https://hooks.example.com/a")
    with tenant_scope(BOB):
        other_tenant = registry.subscribe("park-updated", "https://hooks.example.com/a")
    assert len({first.id, second.id, other_tenant.id}) == 3
    for sub in (first, second, other_tenant):
        assert re.fullmatch(r"sub_[0-9a-f]{32}", sub.id)


def test_attack_a_member_cannot_take_over_an_endpoint_someone_else_subscribed(
    aws: Aws, registry: TopicRegistry
) -> None:
    with tenant_scope(ALICE):
        admins = registry.subscribe("park-updated", "https://ops.example.com/alerts/t0ken")
    before = raw_items(aws)
    with tenant_scope(MIA):
        with pytest.raises(ConflictError) as refused:
            registry.subscribe("park-updated", "https://ops.example.com/alerts/t0ken")
        with pytest.raises(ForbiddenError):
            registry.unsubscribe(admins.id)
    assert refused.value.status_code == 409
    message = str(refused.value)
    assert admins.id not in message
    assert "alice" not in message
    assert admins.id[4:] not in repr(refused.value.__dict__)
    assert sorted(map(str, raw_items(aws))) == sorted(map(str, before))
    with tenant_scope(ALICE):
        assert registry.subscriptions() == [admins]


def test_an_admin_takes_over_an_endpoint_a_member_subscribed_first(
    aws: Aws, registry: TopicRegistry
) -> None:
    with tenant_scope(MIA):
        squatted = registry.subscribe("park-updated", "https://ops.example.com/alerts/t0ken")
    with tenant_scope(ALICE):
        taken = registry.subscribe("park-updated", "https://ops.example.com/alerts/t0ken")
    assert taken.owner == "alice"
    assert taken.id == squatted.id
    assert taken.subscription_arn == squatted.subscription_arn
    with tenant_scope(MIA):
        with pytest.raises(ForbiddenError):
            registry.unsubscribe(taken.id)
        with pytest.raises(ForbiddenError):
            registry.endpoint(taken.id)
        assert [s.owner for s in registry.subscriptions()] == ["alice"]
    assert live_subscriptions(aws, taken.topic_arn) == [taken.subscription_arn]


def test_the_same_owner_subscribing_again_gets_the_same_subscription(
    aws: Aws, registry: TopicRegistry
) -> None:
    with tenant_scope(MIA):
        first = registry.subscribe("park-updated", "https://hooks.example.com/mia")
        again = registry.subscribe("park-updated", "https://hooks.example.com/mia")
        assert registry.subscriptions() == [first]
    assert again == first
    with tenant_scope(MIA):
        registry.unsubscribe(first.id)
        assert registry.subscriptions() == []
    # Unsubscribing freed the endpoint: anyone may subscribe it now.
    with tenant_scope(CAROL):
        assert registry.subscribe("park-updated", "https://hooks.example.com/mia").owner == "carol"
