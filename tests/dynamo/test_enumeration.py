"""The tenant-enumeration index: every write path tags items, readers never see the tag,
and enumerating a tenant is queries on the GSI only (no Scan, no PartiQL)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from boto3.dynamodb.conditions import Attr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from tenantkit.context import tenant_scope
from tenantkit.dynamo import TenantTable
from tenantkit.dynamo.enumeration import Enumeration
from tenantkit.errors import (
    ConfigurationError,
    InvalidExpressionError,
    InvalidKeyError,
    TenantIsolationError,
)
from tests.calls import Calls

from .conftest import SECRET, TABLE, create_table, ctx

SHARDS = 16


def add_enumeration_index(client: Any, name: str = TABLE) -> None:
    """The GSI of the enumeration index: TenantItems, KEYS_ONLY, HASH key tkshard (S)."""
    client.update_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "tkshard", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[
            {
                "Create": {
                    "IndexName": "TenantItems",
                    "KeySchema": [{"AttributeName": "tkshard", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                }
            }
        ],
    )


@pytest.fixture(scope="module")
def enum_client() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client)
        add_enumeration_index(client)
        yield client


def enumerated(client: Any, tenant: str | None = None) -> TenantTable:
    return TenantTable(
        TABLE, client=client, cursor_key=SECRET, enumeration=Enumeration(), tenant=tenant
    )


def raw_item(client: Any, pk: str, sk: str = "meta") -> dict[str, Any]:
    item: dict[str, Any] = client.get_item(TableName=TABLE, Key={"pk": {"S": pk}, "sk": {"S": sk}})[
        "Item"
    ]
    return item


def test_a_thousand_items_by_every_write_path_enumerate_without_scan(enum_client: Any) -> None:
    texas, utah = enumerated(enum_client, "texas"), enumerated(enum_client, "utah")
    texas.batch_write(put=[{"pk": f"park#{i}", "sk": "meta", "n": i} for i in range(970)])
    utah.batch_write(put=[{"pk": f"park#{i}", "sk": "meta"} for i in range(100)])
    texas.put_item({"pk": "put", "sk": "meta"})
    texas.update_item({"pk": "update", "sk": "meta"}, set={"n": 1})  # creates the item
    with texas.transaction() as tx:
        for i in range(28):
            tx.put({"pk": f"tx#{i}", "sk": "meta"})
    texas.delete_item({"pk": "park#0", "sk": "meta"})
    calls = Calls(enum_client)

    keys = list(texas.enumerate_keys())

    expected = {f"park#{i}" for i in range(1, 970)} | {"put", "update"}
    expected |= {f"tx#{i}" for i in range(28)}
    assert sorted(k["pk"] for k in keys) == sorted(expected)
    assert all(set(k) == {"pk", "sk"} for k in keys)
    assert calls.seen["Scan"] == 0
    assert calls.seen["ExecuteStatement"] == 0
    assert set(calls.seen) == {"Query"}
    assert calls.seen["Query"] >= SHARDS
    assert texas.count_items() == len(expected)
    assert utah.count_items() == 100
    assert calls.seen["Scan"] == calls.seen["ExecuteStatement"] == 0


def test_every_write_path_stores_the_tenant_and_a_shard(enum_client: Any) -> None:
    table = enumerated(enum_client, "ohio")
    table.put_item({"pk": "a", "sk": "meta"})
    table.update_item({"pk": "b", "sk": "meta"}, remove="gone")
    table.batch_write(put=[{"pk": "c", "sk": "meta"}])
    with table.transaction() as tx:
        tx.put({"pk": "d", "sk": "meta"})
        tx.update({"pk": "e", "sk": "meta"}, set={"x": 1})
    for pk in "abcde":
        tenant, _, shard = raw_item(enum_client, f"ohio#{pk}")["tkshard"]["S"].partition("#")
        assert tenant == "ohio"
        assert 0 <= int(shard) < SHARDS
        assert shard == str(int(shard))  # a plain decimal integer (decision 25)


def test_a_rewritten_item_keeps_its_shard(enum_client: Any) -> None:
    table = enumerated(enum_client, "ohio")
    table.put_item({"pk": "same", "sk": "meta", "v": 1})
    first = raw_item(enum_client, "ohio#same")["tkshard"]
    table.update_item({"pk": "same", "sk": "meta"}, set={"v": 2})
    table.batch_write(put=[{"pk": "same", "sk": "meta", "v": 3}])
    assert raw_item(enum_client, "ohio#same")["tkshard"] == first


def test_two_hundred_keys_spread_over_every_shard(enum_client: Any) -> None:
    table = enumerated(enum_client, "spread")
    table.batch_write(put=[{"pk": f"k{i}", "sk": "meta"} for i in range(200)])
    shards = Counter(
        int(raw_item(enum_client, f"spread#k{i}")["tkshard"]["S"].split("#")[1]) for i in range(200)
    )
    assert set(shards) == set(range(SHARDS))


def test_readers_never_see_the_attribute(enum_client: Any) -> None:
    table = enumerated(enum_client, "idaho")
    table.put_item({"pk": "p", "sk": "meta", "GSI1PK": "all", "GSI1SK": "1"})
    assert "tkshard" in raw_item(enum_client, "idaho#p")
    assert table.get_item({"pk": "p", "sk": "meta"}) == {
        "pk": "p",
        "sk": "meta",
        "GSI1PK": "all",
        "GSI1SK": "1",
    }
    assert "tkshard" not in table.update_item({"pk": "p", "sk": "meta"}, set={"x": 1})
    assert all("tkshard" not in i for i in table.query("p").items)
    assert all("tkshard" not in i for i in table.query("all", index="GSI1").items)
    assert all("tkshard" not in i for i in table.batch_get([{"pk": "p", "sk": "meta"}]))
    assert all(
        i is None or "tkshard" not in i for i in table.transact_get([{"pk": "p", "sk": "meta"}])
    )
    deleted = table.delete_item({"pk": "p", "sk": "meta"})
    assert deleted is not None
    assert "tkshard" not in deleted


@pytest.mark.parametrize(
    "write",
    [
        lambda t: t.put_item({"pk": "x", "sk": "meta", "tkshard": "utah#0"}),
        lambda t: t.batch_write(put=[{"pk": "x", "sk": "meta", "tkshard": "utah#0"}]),
        lambda t: t.update_item({"pk": "x", "sk": "meta"}, set={"tkshard": "utah#0"}),
        lambda t: t.update_item({"pk": "x", "sk": "meta"}, remove="tkshard"),
        lambda t: t.update_item({"pk": "x", "sk": "meta"}, add={"tkshard": {"a"}}),
    ],
)
def test_a_write_cannot_set_the_attribute_to_hide_or_plant_an_item(
    enum_client: Any, write: Any
) -> None:
    """The attack: write tkshard by hand to hide an item from offboarding, or to list it
    under another tenant."""
    table = enumerated(enum_client, "attacker")
    with pytest.raises((InvalidKeyError, InvalidExpressionError)):
        write(table)
    assert "Item" not in enum_client.get_item(
        TableName=TABLE, Key={"pk": {"S": "attacker#x"}, "sk": {"S": "meta"}}
    )


def test_a_condition_may_not_compare_the_attribute(enum_client: Any) -> None:
    table = enumerated(enum_client, "ohio")
    with pytest.raises(InvalidExpressionError):
        table.put_item({"pk": "c", "sk": "meta"}, condition=Attr("tkshard").eq("utah#1"))


def test_without_enumeration_there_is_nothing_to_enumerate(enum_client: Any) -> None:
    plain = TenantTable(TABLE, client=enum_client, tenant="texas", cursor_key=SECRET)
    with pytest.raises(ConfigurationError):
        list(plain.enumerate_keys())
    assert plain.enumeration is None


def test_enumeration_reads_the_current_tenant(enum_client: Any) -> None:
    table = enumerated(enum_client)
    with tenant_scope(ctx("utah")):
        assert sum(1 for _ in table.enumerate_keys(shards=range(SHARDS))) == 100


@pytest.mark.parametrize(
    "kwargs",
    [{"shards": 0}, {"shards": 257}, {"shards": True}, {"index": "x"}, {"index": "bad name"}],
)
def test_enumeration_settings_are_checked(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        Enumeration(**kwargs)


def test_the_index_is_not_a_query_index_nor_its_attribute_a_key() -> None:
    with pytest.raises(ConfigurationError):
        TenantTable(TABLE, indexes={"TenantItems": "tkshard"}, enumeration=Enumeration())
    with pytest.raises(ConfigurationError):
        TenantTable(TABLE, indexes={"G": "GPK"}, partition_key="tkshard", enumeration=Enumeration())


def test_a_shard_outside_the_range_is_refused(enum_client: Any) -> None:
    with pytest.raises(InvalidKeyError):
        list(enumerated(enum_client, "texas").enumerate_keys(shards=[SHARDS]))


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    writes=st.lists(
        st.tuples(st.sampled_from(["put", "update", "batch", "delete"]), st.integers(0, 12)),
        max_size=25,
    )
)
def test_enumeration_matches_a_model_of_the_writes(enum_client: Any, writes: list[Any]) -> None:
    """Whatever sequence of writes: the keys enumerated are the keys that exist (model: a set)."""
    table = TenantTable(
        TABLE, client=enum_client, tenant="model", enumeration=Enumeration(shards=2)
    )
    for key in table.enumerate_keys():
        table.delete_item(key)
    model: set[str] = set()
    for verb, n in writes:
        key = {"pk": f"k{n}", "sk": "meta"}
        if verb == "put":
            table.put_item(key)
        elif verb == "update":
            table.update_item(key, set={"v": n})
        elif verb == "batch":
            table.batch_write(put=[key])
        else:
            table.delete_item(key)
        (model.discard if verb == "delete" else model.add)(f"k{n}")
    assert sorted(k["pk"] for k in table.enumerate_keys()) == sorted(model)


def test_a_forged_index_entry_never_lists_another_tenants_item(enum_client: Any) -> None:
    """The attack: a raw writer tags texas's item with utah's shard, hoping utah's
    offboarding deletes it (or utah's export leaks it). Enumeration refuses the key."""
    enum_client.put_item(
        TableName=TABLE,
        Item={"pk": {"S": "texas#victim"}, "sk": {"S": "meta"}, "tkshard": {"S": "forged#0"}},
    )
    forged = enumerated(enum_client, "forged")
    with pytest.raises(TenantIsolationError):
        list(forged.enumerate_keys(shards=[0]))
    key = {"pk": {"S": "texas#victim"}, "sk": {"S": "meta"}}
    assert "Item" in enum_client.get_item(TableName=TABLE, Key=key)
    enum_client.delete_item(TableName=TABLE, Key=key)
