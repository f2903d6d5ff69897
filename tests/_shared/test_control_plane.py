"""The control-plane store: reserved namespaces only, typed transactions, one unmarshaller."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from boto3.dynamodb.conditions import Attr
from moto import mock_aws

from tenantkit._shared.clients import ClientOptions
from tenantkit._shared.dynamodb.control_plane import ControlPlaneStore
from tenantkit._shared.dynamodb.expressions import IfNotExists
from tenantkit.context import TenantContext, tenant_scope
from tenantkit.dynamo import TenantTable
from tenantkit.errors import (
    ConditionFailedError,
    ConfigurationError,
    InvalidExpressionError,
)
from tests.tables import create_keyed_table

TABLE = "control-plane-test"


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_keyed_table(client, TABLE)
        yield client


def store(client: Any, *namespaces: str) -> ControlPlaneStore:
    return ControlPlaneStore(
        TABLE, namespaces=namespaces, client=ClientOptions("dynamodb", client=client)
    )


@pytest.mark.parametrize(
    "partition",
    ["texas#_events#x", "_user#alice", "events#x", "_events", "_eventsx#y", "", None, 1],
)
def test_attack_keys_outside_the_bound_namespace_are_refused(dynamodb: Any, partition: Any) -> None:
    events = store(dynamodb, "events")
    with pytest.raises(ConfigurationError, match="_events#"):
        events.key(partition, "s")
    with pytest.raises(ConfigurationError):
        events.put({"pk": partition, "sk": "s", "v": 1})
    with pytest.raises(ConfigurationError):
        events.get({"pk": partition, "sk": "s"})
    with pytest.raises(ConfigurationError):
        events.transaction().delete({"pk": partition, "sk": "s"})
    with pytest.raises(ConfigurationError):
        list(events.query(partition))
    assert dynamodb.scan(TableName=TABLE)["Items"] == []


def test_one_component_cannot_write_anothers_records(dynamodb: Any) -> None:
    directory = store(dynamodb, "user", "tenant", "tenantid")
    directory.put({"pk": "_user#alice", "sk": "_user", "v": 1})
    directory.put({"pk": "_tenantid#texas", "sk": "_tenantid", "v": 1})
    for outsider in (store(dynamodb, "events"), store(dynamodb, "once")):
        with pytest.raises(ConfigurationError):
            outsider.put({"pk": "_user#alice", "sk": "_user", "v": 2})
    assert directory.get({"pk": "_user#alice", "sk": "_user"}) == {
        "pk": "_user#alice",
        "sk": "_user",
        "v": 1,
    }


def test_tenant_tables_never_reach_control_plane_records(dynamodb: Any) -> None:
    events = store(dynamodb, "events")
    events.put({"pk": "_events#budget", "sk": "_topics", "count": 3})
    table = TenantTable(TABLE, client=dynamodb, indexes={})
    with tenant_scope(TenantContext("texas", "mallory")):
        assert table.get_item({"pk": "_events#budget", "sk": "_topics"}) is None
        table.put_item({"pk": "_events#budget", "sk": "_topics", "count": 0})
    assert events.get({"pk": "_events#budget", "sk": "_topics"}) == {
        "pk": "_events#budget",
        "sk": "_topics",
        "count": 3,
    }


def test_reads_writes_and_queries(dynamodb: Any) -> None:
    events = store(dynamodb, "events")
    key = events.key("_events#topic#t", "_topic")
    events.put({**key, "state": "active", "subs": 0, "tags": {"a", "b"}}, if_not_exists=True)
    with pytest.raises(ConditionFailedError):
        events.put({**key, "state": "other"}, if_not_exists=True)
    updated = events.update(
        key,
        set={"state": "deleting"},
        add={"subs": 2},
        delete={"tags": {"a"}},
        condition=Attr("state").eq("active"),
    )
    assert updated == {**key, "state": "deleting", "subs": 2, "tags": {"b"}}
    with pytest.raises(ConditionFailedError):
        events.update(key, set={"x": 1}, condition=Attr("state").eq("active"))
    for n in range(3):
        events.put({"pk": "_events#subs#p#texas", "sk": f"sub_{n}", "n": n})
    assert [r["n"] for r in events.query("_events#subs#p#texas")] == [0, 1, 2]
    events.delete(key, condition=Attr("subs").eq(2))
    assert events.get(key, consistent=True) is None
    assert events.sort_value({"pk": "_events#x", "sk": "s"}) == "s"


def test_nested_paths_and_if_not_exists(dynamodb: Any) -> None:
    users = store(dynamodb, "user")
    key = users.key("_user#alice", "_user")
    users.put({**key, "memberships": {}})

    first = users.update(
        key, set={("memberships", "texas"): {"admin"}, "activeTenant": IfNotExists("texas")}
    )
    second = users.update(
        key, set={("memberships", "ohio"): {"member"}, "activeTenant": IfNotExists("ohio")}
    )
    assert first["activeTenant"] == second["activeTenant"] == "texas"
    assert second["memberships"] == {"texas": {"admin"}, "ohio": {"member"}}
    third = users.update(key, remove=[("memberships", "texas"), "activeTenant"])
    assert third == {**key, "memberships": {"ohio": {"member"}}}


def test_transactions_name_their_failed_conditions(dynamodb: Any) -> None:
    events = store(dynamodb, "events")
    a, b = events.key("_events#a", "s"), events.key("_events#b", "s")
    with events.transaction() as tx:
        tx.put({**a, "n": 1}, if_not_exists=True)
        tx.update(b, add={"count": 1})
    refusing = events.transaction()
    refusing.update(b, add={"count": 1}, condition=Attr("count").lt(1))
    refusing.put({**a, "n": 2}, if_not_exists=True)
    with pytest.raises(ConditionFailedError) as refused:
        refusing.commit()
    assert refused.value.failed_indexes == (0, 1)
    assert events.get(b) == {**b, "count": 1}
    with events.transaction():
        pass  # nothing to write: no request, no error
    with pytest.raises(InvalidExpressionError, match="partition-key"):
        events.transaction().condition_check(a, Attr("pk").begins_with("_"))


def test_put_or_existing_returns_the_record_that_stopped_it(dynamodb: Any) -> None:
    once = store(dynamodb, "once")
    key = once.key("_once#c#m", "_once")
    assert once.put_or_existing({**key, "state": "a"}, condition=Attr("pk").not_exists()) is None
    old = once.put_or_existing({**key, "state": "b"}, condition=Attr("pk").not_exists())
    assert old == {**key, "state": "a"}
    assert once.put_or_existing({"pk": "_once#c#n", "sk": "_once"}, condition=Attr("x").eq(1)) == {}


def test_a_table_without_sort_key(dynamodb: Any) -> None:
    dynamodb.create_table(
        TableName="flat",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    flat = ControlPlaneStore(
        "flat",
        namespaces=("once",),
        partition_key="id",
        sort_key=None,
        client=ClientOptions("dynamodb", client=dynamodb),
    )
    key = flat.key("_once#x")
    flat.put({**key, "v": 1})
    assert flat.get(key) == {"id": "_once#x", "v": 1}
    with pytest.raises(ConfigurationError, match="no sort key"):
        flat.key("_once#x", "s")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"namespaces": ()},
        {"namespaces": ("Events",)},
        {"namespaces": ("ev#ents",)},
        {"namespaces": ("events",), "partition_key": "pk", "sort_key": "pk"},
        {"namespaces": ("events",), "partition_key": ""},
    ],
)
def test_configuration_errors(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        ControlPlaneStore(TABLE, client=ClientOptions("dynamodb"), **kwargs)
