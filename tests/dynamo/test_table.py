"""TenantTable behaviour against moto in-process: reads, writes, queries, batches, transactions."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.conditions import Attr, Key

from tenantkit._shared.dynamodb.transact import Transaction
from tenantkit.context import tenant_scope
from tenantkit.dynamo import IfNotExists, InvalidExpressionError, Page, TenantTable
from tenantkit.errors import (
    ConditionFailedError,
    ConfigurationError,
    InvalidKeyError,
    InvalidLimitError,
    InvalidTenantIdError,
    NoTenantContextError,
)

from .conftest import SECRET, TABLE, ctx, transact

A1 = {"pk": "a", "sk": "1"}


def raw_item(client: Any, pk: str, sk: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = client.get_item(
        TableName=TABLE, Key={"pk": {"S": pk}, "sk": {"S": sk}}
    ).get("Item")
    return item


def test_put_and_get_round_trip_strips_the_prefix(table: TenantTable, client: Any) -> None:
    item = {
        "pk": "park",
        "sk": "big-bend",
        "GSI1PK": "parks",
        "GSI1SK": "Big Bend",
        "acres": 801163,
        "fee": Decimal("30.50"),
        "open": True,
        "closed": None,
        "tags": {"desert", "river"},
        "photo": b"\x89PNG",
        "trails": [{"name": "Lost Mine", "miles": 5}],
    }
    with tenant_scope(ctx("texas")):
        table.put_item(item)
        assert table.get_item({"pk": "park", "sk": "big-bend"}) == item
        assert table.get_item({"pk": "park", "sk": "nope"}) is None
    stored = raw_item(client, "texas#park", "big-bend")
    assert stored is not None
    assert stored["GSI1PK"] == {"S": "texas#parks"}
    assert stored["GSI1SK"] == {"S": "Big Bend"}


def test_no_tenant_in_scope_is_refused(table: TenantTable) -> None:
    with pytest.raises(NoTenantContextError):
        table.get_item({"pk": "park", "sk": "a"})


def test_pinned_tenant_as_str_or_context(client: Any) -> None:
    pinned = TenantTable(TABLE, client=client, tenant="utah", cursor_key=SECRET)
    by_ctx = TenantTable(TABLE, client=client, tenant=ctx("utah"), cursor_key=SECRET)
    pinned.put_item({"pk": "park", "sk": "arches"})
    with tenant_scope(ctx("texas")):  # the pin wins over the scope
        assert by_ctx.get_item({"pk": "park", "sk": "arches"}) == {"pk": "park", "sk": "arches"}
    assert raw_item(client, "utah#park", "arches") is not None
    with pytest.raises(InvalidTenantIdError):
        TenantTable(TABLE, client=client, tenant="a#b")


def test_tenant_is_read_at_call_time(table: TenantTable) -> None:
    with tenant_scope(ctx("texas")):
        table.put_item({"pk": "park", "sk": "a", "state": "TX"})
    with tenant_scope(ctx("utah")):
        table.put_item({"pk": "park", "sk": "a", "state": "UT"})
        assert table.get_item({"pk": "park", "sk": "a"}) == {"pk": "park", "sk": "a", "state": "UT"}
    with tenant_scope(ctx("texas")):
        assert table.get_item({"pk": "park", "sk": "a"}) == {"pk": "park", "sk": "a", "state": "TX"}


def test_if_not_exists_and_conditions(table: TenantTable) -> None:
    with tenant_scope(ctx("texas")):
        table.put_item({"pk": "p", "sk": "1", "v": 1}, if_not_exists=True)
        with pytest.raises(ConditionFailedError):
            table.put_item({"pk": "p", "sk": "1", "v": 2}, if_not_exists=True)
        table.put_item({"pk": "p", "sk": "1", "v": 3}, condition=Attr("v").eq(1))
        with pytest.raises(ConditionFailedError):
            table.put_item({"pk": "p", "sk": "1", "v": 4}, condition=Attr("v").eq(1))
        assert table.get_item({"pk": "p", "sk": "1"}) == {"pk": "p", "sk": "1", "v": 3}


def test_update_set_remove_add_returns_new_item(table: TenantTable) -> None:
    with tenant_scope(ctx("texas")):
        table.put_item({"pk": "p", "sk": "1", "old": "x", "n": 1})
        new = table.update_item(
            {"pk": "p", "sk": "1"},
            set={"name": "Enchanted Rock", "GSI1PK": "parks", "GSI1SK": "E"},
            remove=["old"],
            add={"n": 2, "tags": {"granite"}},
            condition=Attr("old").exists(),
        )
        assert new == {
            "pk": "p",
            "sk": "1",
            "n": 3,
            "name": "Enchanted Rock",
            "GSI1PK": "parks",
            "GSI1SK": "E",
            "tags": {"granite"},
        }
        page = table.query("parks", index="GSI1")
        assert [i["name"] for i in page.items] == ["Enchanted Rock"]
        with pytest.raises(ConditionFailedError):
            table.update_item({"pk": "p", "sk": "1"}, set={"x": 1}, condition=Attr("old").exists())


def test_update_removes_and_adds_several_attributes(table: TenantTable) -> None:
    with tenant_scope(ctx("texas")):
        table.put_item({"pk": "p", "sk": "1", "a": 1, "b": 2, "c": 3, "n": 1})
        new = table.update_item(
            {"pk": "p", "sk": "1"}, remove=["a", "b"], add={"n": 2, "m": 5, "tags": {"x", "y"}}
        )
    assert new == {"pk": "p", "sk": "1", "c": 3, "n": 3, "m": 5, "tags": {"x", "y"}}


def test_size_of_the_sort_key_is_refused_in_a_query(table: TenantTable) -> None:
    with tenant_scope(ctx("texas")), pytest.raises(InvalidExpressionError):
        table.query("p", sort=Attr("sk").size().gt(3))


def test_update_refuses_key_attributes_and_empty_updates(table: TenantTable) -> None:
    with tenant_scope(ctx("texas")):
        for kwargs in ({"set": {"pk": "x"}}, {"remove": ["sk"]}, {"add": {"pk": 1}}):
            with pytest.raises(InvalidKeyError):
                table.update_item({"pk": "p", "sk": "1"}, **kwargs)
        with pytest.raises(InvalidExpressionError):
            table.update_item({"pk": "p", "sk": "1"}, add={"GSI1PK": 1})
        with pytest.raises(InvalidExpressionError):
            table.update_item({"pk": "p", "sk": "1"})


def test_delete_returns_old_item_or_none(table: TenantTable) -> None:
    with tenant_scope(ctx("texas")):
        table.put_item({"pk": "p", "sk": "1", "v": 1})
        with pytest.raises(ConditionFailedError):
            table.delete_item({"pk": "p", "sk": "1"}, condition=Attr("v").eq(2))
        assert table.delete_item({"pk": "p", "sk": "1"}) == {"pk": "p", "sk": "1", "v": 1}
        assert table.delete_item({"pk": "p", "sk": "1"}) is None


def test_query_sort_filter_order_and_pagination(table: TenantTable) -> None:
    with tenant_scope(ctx("texas")):
        for i in range(7):
            table.put_item({"pk": "p", "sk": f"item#{i}", "n": i})
        table.put_item({"pk": "p", "sk": "other"})
        page = table.query("p", sort=Key("sk").begins_with("item#"), filter=Attr("n").gte(2))
        assert [i["n"] for i in page.items] == [2, 3, 4, 5, 6]
        assert page.cursor is None
        desc = table.query("p", sort=Key("sk").between("item#1", "item#3"), forward=False)
        assert [i["n"] for i in desc.items] == [3, 2, 1]
        pages = list(table.query_all("p", sort=Key("sk").begins_with("item#"), limit=3))
        assert [[i["n"] for i in pg.items] for pg in pages] == [[0, 1, 2], [3, 4, 5], [6]]
        assert isinstance(pages[0], Page)
        assert pages[-1].cursor is None
        assert table.count("p") == 8
        assert table.count("p", sort=Key("sk").begins_with("item#"), filter=Attr("n").lt(3)) == 3


def test_query_on_gsi_and_undeclared_index(table: TenantTable) -> None:
    with tenant_scope(ctx("texas")):
        for name in ("b", "a", "c"):
            table.put_item({"pk": f"park#{name}", "sk": "meta", "GSI1PK": "parks", "GSI1SK": name})
        first = table.query("parks", index="GSI1", limit=2)
        assert [i["GSI1SK"] for i in first.items] == ["a", "b"]
        assert first.items[0]["pk"] == "park#a"
        rest = table.query("parks", index="GSI1", limit=2, cursor=first.cursor)
        assert [i["GSI1SK"] for i in rest.items] == ["c"]
        assert table.count("parks", index="GSI1", sort=Key("GSI1SK").gt("a")) == 2
        with pytest.raises(InvalidKeyError, match="not declared"):
            table.query("parks", index="GSI2")


def test_batch_get_and_write_chunk_beyond_limits(table: TenantTable, client: Any) -> None:
    with tenant_scope(ctx("texas")):
        table.batch_write(put=[{"pk": "p", "sk": f"{i:03}", "n": i} for i in range(60)])
        assert table.count("p") == 60
        keys = [{"pk": "p", "sk": f"{i:03}"} for i in reversed(range(0, 120, 1))]
        got = table.batch_get([*keys, keys[-1]])
        assert [g["n"] for g in got] == list(reversed(range(60)))
        table.batch_write(
            put=[{"pk": "q", "sk": "1"}], delete=[{"pk": "p", "sk": f"{i:03}"} for i in range(30)]
        )
        assert table.count("p") == 30
        assert table.get_item({"pk": "q", "sk": "1"}) == {"pk": "q", "sk": "1"}
        with pytest.raises(InvalidKeyError, match="same key twice"):
            table.batch_write(put=[{"pk": "q", "sk": "1"}], delete=[{"pk": "q", "sk": "1"}])
    assert raw_item(client, "texas#q", "1") is not None


def test_transactions(table: TenantTable) -> None:
    with tenant_scope(ctx("texas")):
        table.put_item({"pk": "a", "sk": "1", "n": 1})
        table.put_item({"pk": "b", "sk": "1"})
        with table.transaction() as tx:
            tx.put({"pk": "c", "sk": "1", "GSI1PK": "g", "GSI1SK": "c"})
            tx.update({"pk": "a", "sk": "1"}, add={"n": 1}, set={"GSI1PK": "g"})
            tx.delete({"pk": "b", "sk": "1"}, condition=Attr("pk").exists())
            tx.condition_check({"pk": "z", "sk": "1"}, Attr("pk").not_exists())
            assert len(tx) == 4
        got = table.transact_get(
            [{"pk": "a", "sk": "1"}, {"pk": "b", "sk": "1"}, {"pk": "c", "sk": "1"}]
        )
        assert got == [
            {"pk": "a", "sk": "1", "n": 2, "GSI1PK": "g"},
            None,
            {"pk": "c", "sk": "1", "GSI1PK": "g", "GSI1SK": "c"},
        ]
        with pytest.raises(ConditionFailedError, match=r"\[1\]") as refused:
            transact(
                table,
                lambda tx: tx.put({"pk": "d", "sk": "1"}),
                lambda tx: tx.condition_check({"pk": "a", "sk": "1"}, Attr("n").eq(99)),
            )
        assert refused.value.failed_indexes == (1,)
        assert table.get_item({"pk": "d", "sk": "1"}) is None


def test_a_transaction_names_every_failed_condition_and_writes_nothing(table: TenantTable) -> None:
    with tenant_scope(ctx("texas")):
        table.put_item({"pk": "a", "sk": "1", "n": 1})
        with pytest.raises(ConditionFailedError) as refused:
            transact(
                table,
                lambda tx: tx.put({"pk": "a", "sk": "1"}, if_not_exists=True),
                lambda tx: tx.put({"pk": "b", "sk": "1"}, if_not_exists=True),
                lambda tx: tx.update(
                    {"pk": "c", "sk": "1"}, set={"x": 1}, condition=Attr("x").exists()
                ),
            )
        assert refused.value.failed_indexes == (0, 2)
        assert refused.value.status_code == 409
        assert table.get_item({"pk": "b", "sk": "1"}) is None


class Recording:
    """A client that records requests and answers every call with an empty response."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __getattr__(self, operation: str) -> Any:
        def answer(**request: Any) -> dict[str, Any]:
            self.calls.append(operation)
            return {}

        return answer


def test_nothing_is_sent_when_the_block_raises() -> None:
    client = Recording()
    table = TenantTable(TABLE, client=client, tenant="texas")  # type: ignore[arg-type]

    def fail_half_way(tx: Transaction) -> None:
        raise RuntimeError("the handler failed half-way")

    with pytest.raises(RuntimeError):
        transact(table, lambda tx: tx.put({"pk": "a", "sk": "1"}), fail_half_way)
    assert client.calls == []
    with table.transaction() as tx:
        tx.put({"pk": "a", "sk": "1"})
    assert client.calls == ["transact_write_items"]


def test_transaction_limits_are_checked_before_any_request() -> None:
    client = Recording()
    table = TenantTable(TABLE, client=client, tenant="texas")  # type: ignore[arg-type]
    with table.transaction():
        pass  # a clean exit with no operations sends nothing: not a 400
    empty = table.transaction()
    empty.commit()
    assert client.calls == []
    with pytest.raises(ConfigurationError, match="committed"):
        empty.put({"pk": "a", "sk": "1"})
    puts = [lambda tx, n=n: tx.put({"pk": "a", "sk": f"{n}"}) for n in range(101)]
    with pytest.raises(InvalidLimitError, match="at most 100"):
        transact(table, *puts)
    with pytest.raises(InvalidLimitError, match="1 to 100"):
        table.transact_get([])
    with pytest.raises(InvalidLimitError, match="1 to 100"):
        table.transact_get([{"pk": "a", "sk": f"{n}"} for n in range(101)])
    assert client.calls == []
    transact(table, *puts[:100])
    assert client.calls == ["transact_write_items"]


@pytest.mark.parametrize(
    ("build", "error"),
    [
        (lambda tx: tx.put(["pk", "a"]), InvalidKeyError),
        (lambda tx: tx.put({"pk": "a"}), InvalidKeyError),
        (lambda tx: tx.delete({"pk": "a", "sk": "1", "x": 1}), InvalidKeyError),
        (lambda tx: tx.condition_check({"pk": "a", "sk": "1"}, None), InvalidExpressionError),
        (lambda tx: tx.update({"pk": "a", "sk": "1"}), InvalidExpressionError),
        (lambda tx: tx.update({"pk": "a", "sk": "1"}, set=[("x", 1)]), InvalidExpressionError),
        (lambda tx: tx.update({"pk": "a", "sk": "1"}, set={"sk": "2"}), InvalidKeyError),
        (lambda tx: tx.update({"pk": "a", "sk": "1"}, add={"GSI1PK": 1}), InvalidExpressionError),
        (
            lambda tx: tx.update({"pk": "a", "sk": "1"}, set={"x": 1}, condition="x = :v"),
            InvalidExpressionError,
        ),
        (lambda tx: (tx.put(A1), tx.delete(A1)), InvalidKeyError),
        (lambda tx: (tx.put(A1), tx.condition_check(A1, Attr("x").exists())), InvalidKeyError),
    ],
)
def test_malformed_transactions_are_refused(
    build: Callable[[Transaction], object], error: type[Exception]
) -> None:
    client = Recording()
    table = TenantTable(TABLE, client=client, tenant="texas")  # type: ignore[arg-type]
    with pytest.raises(error), table.transaction() as tx:
        build(tx)
    assert client.calls == []


def test_a_committed_transaction_is_not_reused() -> None:
    table = TenantTable(TABLE, client=Recording(), tenant="texas")  # type: ignore[arg-type]
    tx = table.transaction()
    tx.put(A1)
    tx.commit()
    with pytest.raises(ConfigurationError, match="committed"):
        tx.delete({"pk": "b", "sk": "1"})
    with pytest.raises(ConfigurationError, match="committed"):
        tx.commit()


def test_a_transaction_reads_the_tenant_once(table: TenantTable, client: Any) -> None:
    with tenant_scope(ctx("texas")):
        tx = table.transaction()
    with tenant_scope(ctx("utah")):
        tx.put({"pk": "a", "sk": "1"})
        tx.commit()
    assert raw_item(client, "texas#a", "1") is not None
    assert raw_item(client, "utah#a", "1") is None


def test_number_and_binary_sort_keys(client: Any) -> None:
    client.create_table(
        TableName="numbers",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "id", "AttributeType": "S"},
            {"AttributeName": "at", "AttributeType": "N"},
        ],
        KeySchema=[
            {"AttributeName": "id", "KeyType": "HASH"},
            {"AttributeName": "at", "KeyType": "RANGE"},
        ],
    )
    numbers = TenantTable(
        "numbers", partition_key="id", sort_key="at", indexes={}, client=client, tenant="texas"
    )
    numbers.put_item({"id": "log", "at": 2, "v": "b"})
    numbers.put_item({"id": "log", "at": Decimal("1.5"), "v": "a"})
    assert [i["at"] for i in numbers.query("log").items] == [Decimal("1.5"), 2]
    assert numbers.get_item({"id": "log", "at": Decimal("2.0")}) == {"id": "log", "at": 2, "v": "b"}
    with pytest.raises(InvalidKeyError):
        numbers.get_item({"id": "log", "at": True})


def test_bytearray_sort_keys_work_in_batches_and_transactions(client: Any) -> None:
    client.create_table(
        TableName="blobs",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "id", "AttributeType": "S"},
            {"AttributeName": "at", "AttributeType": "B"},
        ],
        KeySchema=[
            {"AttributeName": "id", "KeyType": "HASH"},
            {"AttributeName": "at", "KeyType": "RANGE"},
        ],
    )
    blobs = TenantTable(
        "blobs", partition_key="id", sort_key="at", indexes={}, client=client, tenant="texas"
    )
    blobs.batch_write(put=[{"id": "b", "at": bytearray(b"\x01"), "v": 1}])
    assert blobs.batch_get([{"id": "b", "at": bytearray(b"\x01")}]) == [
        {"id": "b", "at": b"\x01", "v": 1}
    ]
    with blobs.transaction() as tx:
        tx.delete({"id": "b", "at": bytearray(b"\x01")})
    assert blobs.get_item({"id": "b", "at": b"\x01"}) is None


def test_table_without_sort_key(client: Any) -> None:
    client.create_table(
        TableName="flat",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    )
    flat = TenantTable("flat", sort_key=None, indexes={}, client=client, tenant="texas")
    flat.put_item({"pk": "a", "v": 1})
    assert flat.get_item({"pk": "a"}) == {"pk": "a", "v": 1}
    assert flat.batch_get([{"pk": "a"}, {"pk": "b"}]) == [{"pk": "a", "v": 1}]
    with pytest.raises(InvalidKeyError):
        flat.get_item({"pk": "a", "sk": "x"})


def test_default_client_is_created_lazily(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3

    created: list[str] = []
    real = boto3.client

    def spy(name: str, **kwargs: Any) -> Any:
        created.append(name)
        return real(name, region_name="us-east-1")

    monkeypatch.setattr(boto3, "client", spy)
    lazy = TenantTable(TABLE, tenant="texas", cursor_key=SECRET)
    assert created == []
    assert lazy.get_item({"pk": "a", "sk": "b"}) is None
    assert lazy.get_item({"pk": "a", "sk": "b"}) is None
    assert created == ["dynamodb"]


def test_update_nested_paths_if_not_exists_and_set_delete(table: TenantTable) -> None:
    key = {"pk": "a", "sk": "1"}
    with tenant_scope(ctx("texas")):
        table.put_item({**key, "roles": {}, "tags": {"x", "y"}})
        new = table.update_item(
            key,
            set={("roles", "texas"): {"admin"}, "n": IfNotExists(5), "a.b": 1},
            delete={"tags": {"x"}},
        )
        assert new == {**key, "roles": {"texas": {"admin"}}, "n": 5, "a.b": 1, "tags": {"y"}}
        again = table.update_item(key, set={"n": IfNotExists(9)}, remove=[("roles", "texas")])
        assert again == {**key, "roles": {}, "n": 5, "a.b": 1, "tags": {"y"}}
        for bad in (
            {"set": {("GSI1PK", "x"): "v"}},
            {"delete": {"tags": "x"}},
            {"delete": {"GSI1PK": {"x"}}},
            {"set": {(): 1}},
            {"remove": [("roles", "")]},
        ):
            with pytest.raises(InvalidExpressionError):
                table.update_item(key, **bad)
        with pytest.raises(InvalidKeyError, match="key attributes"):
            table.update_item(key, remove=[("sk", "x")])


def test_client_from_a_boto3_session_and_config(client: Any) -> None:
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(region_name="us-east-1")
    built = TenantTable(
        TABLE,
        boto3_session=session,
        boto_config=Config(retries={"max_attempts": 2}),
        tenant="texas",
        cursor_key=SECRET,
    )
    built.put_item({"pk": "a", "sk": "1", "v": 1})
    assert built.get_item({"pk": "a", "sk": "1"}) == {"pk": "a", "sk": "1", "v": 1}
    assert raw_item(client, "texas#a", "1") is not None
    with pytest.raises(ConfigurationError, match="not both"):
        TenantTable(TABLE, client=client, boto3_session=session)


def test_consistent_reads_are_asked_for_with_boto3s_own_name() -> None:
    requests: list[tuple[str, dict[str, Any]]] = []

    class Client:
        def __getattr__(self, operation: str) -> Any:
            def answer(**request: Any) -> dict[str, Any]:
                requests.append((operation, request))
                return {}

            return answer

    table = TenantTable(TABLE, client=Client(), tenant="texas")  # type: ignore[arg-type]
    table.get_item({"pk": "p", "sk": "1"}, consistent_read=True)
    table.query("p", consistent_read=True)
    table.count("p", consistent_read=True)
    table.batch_get([{"pk": "p", "sk": "1"}], consistent_read=True)
    table.get_item({"pk": "p", "sk": "1"})
    asked = [
        request.get("ConsistentRead", False)
        or any(r.get("ConsistentRead") for r in request.get("RequestItems", {}).values())
        for _, request in requests
    ]
    assert [name for name, _ in requests] == [
        "get_item",
        "query",
        "query",
        "batch_get_item",
        "get_item",
    ]
    assert asked == [True, True, True, True, False]
