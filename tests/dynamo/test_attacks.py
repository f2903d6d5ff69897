"""Each guarantee of TenantTable, tested by trying the attack it stops."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from boto3.dynamodb.conditions import Attr, Key

from tenantkit.context import tenant_scope
from tenantkit.dynamo import InvalidExpressionError, SecretKey, TenantTable
from tenantkit.errors import (
    ConditionFailedError,
    InvalidCursorError,
    InvalidKeyError,
    InvalidValueError,
    ScanForbiddenError,
    TenantIsolationError,
)

from .conftest import SECRET, TABLE, ctx, transact


class NoCallsClient:
    """A client that fails the test if TenantTable reaches AWS at all."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"TenantTable called {name} before validating its input")


@pytest.fixture
def offline() -> TenantTable:
    return TenantTable(TABLE, client=NoCallsClient(), tenant="texas", cursor_key=SECRET)  # type: ignore[arg-type]


# -- verification on read ----------------------------------------------------------------


def test_foreign_item_in_a_gsi_partition_raises_isolation_error(
    table: TenantTable, client: Any
) -> None:
    # Written without TenantTable: utah's item claims texas's GSI partition.
    client.put_item(
        TableName=TABLE,
        Item={
            "pk": {"S": "utah#park"},
            "sk": {"S": "arches"},
            "GSI1PK": {"S": "texas#parks"},
            "GSI1SK": {"S": "arches"},
            "secret": {"S": "utah-only"},
        },
    )
    with tenant_scope(ctx("texas")), pytest.raises(TenantIsolationError) as err:
        table.query("parks", index="GSI1")
    assert "utah-only" not in str(err.value)


def test_item_with_foreign_gsi_key_raises_isolation_error(table: TenantTable, client: Any) -> None:
    client.put_item(
        TableName=TABLE,
        Item={"pk": {"S": "texas#park"}, "sk": {"S": "a"}, "GSI1PK": {"S": "utah#parks"}},
    )
    with tenant_scope(ctx("texas")):
        with pytest.raises(TenantIsolationError):
            table.get_item({"pk": "park", "sk": "a"})
        with pytest.raises(TenantIsolationError):
            table.batch_get([{"pk": "park", "sk": "a"}])
        with pytest.raises(TenantIsolationError):
            table.transact_get([{"pk": "park", "sk": "a"}])


def test_a_withheld_item_is_logged_once_without_its_values(
    table: TenantTable, client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    client.put_item(
        TableName=TABLE,
        Item={"pk": {"S": "texas#park"}, "sk": {"S": "a"}, "GSI1PK": {"S": "utah#secret"}},
    )
    with caplog.at_level(logging.ERROR, logger="tenantkit.dynamo"), tenant_scope(ctx("texas")):
        for read in (
            lambda: table.get_item({"pk": "park", "sk": "a"}),
            lambda: list(table.query_all("park")),
            lambda: table.update_item({"pk": "park", "sk": "a"}, set={"x": 1}),
        ):
            caplog.clear()
            with pytest.raises(TenantIsolationError):
                read()
            (record,) = caplog.records
            assert "tenant isolation" in record.getMessage()
            assert TABLE in record.getMessage()
            assert "utah#secret" not in record.getMessage()


def test_unprefixed_legacy_item_in_gsi_raises_isolation_error(
    table: TenantTable, client: Any
) -> None:
    client.put_item(
        TableName=TABLE,
        Item={
            "pk": {"S": "park"},
            "sk": {"S": "a"},
            "GSI1PK": {"S": "texas#parks"},
            "GSI1SK": {"S": "a"},
        },
    )
    with tenant_scope(ctx("texas")), pytest.raises(TenantIsolationError):
        list(table.query_all("parks", index="GSI1"))


# -- prefixing -----------------------------------------------------------------------------


def test_value_that_looks_prefixed_is_prefixed_again(table: TenantTable, client: Any) -> None:
    with tenant_scope(ctx("utah")):
        table.put_item({"pk": "secret", "sk": "1", "GSI1PK": "parks", "GSI1SK": "1", "v": "utah's"})
    with tenant_scope(ctx("texas")):
        assert table.get_item({"pk": "utah#secret", "sk": "1"}) is None
        assert table.query("utah#secret").items == []
        assert table.query("utah#parks", index="GSI1").items == []
        table.put_item({"pk": "utah#secret", "sk": "1", "GSI1PK": "utah#parks", "v": "texas'"})
        table.update_item({"pk": "utah#secret", "sk": "1"}, set={"GSI1PK": "utah#parks"})
        assert table.get_item({"pk": "utah#secret", "sk": "1"}) == {
            "pk": "utah#secret",
            "sk": "1",
            "GSI1PK": "utah#parks",
            "v": "texas'",
        }
    stored = client.get_item(
        TableName=TABLE, Key={"pk": {"S": "texas#utah#secret"}, "sk": {"S": "1"}}
    )["Item"]
    assert stored["GSI1PK"] == {"S": "texas#utah#parks"}
    with tenant_scope(ctx("utah")):
        assert table.get_item({"pk": "secret", "sk": "1"})["v"] == "utah's"  # type: ignore[index]
        assert [i["v"] for i in table.query("parks", index="GSI1").items] == ["utah's"]


def test_gsi_key_set_through_update_is_prefixed(table: TenantTable, client: Any) -> None:
    with tenant_scope(ctx("texas")):
        table.update_item({"pk": "p", "sk": "1"}, set={"GSI1PK": "parks", "GSI1SK": "x"})
    stored = client.get_item(TableName=TABLE, Key={"pk": {"S": "texas#p"}, "sk": {"S": "1"}})
    assert stored["Item"]["GSI1PK"] == {"S": "texas#parks"}
    with tenant_scope(ctx("utah")):
        assert table.query("parks", index="GSI1").items == []


# -- cursors -------------------------------------------------------------------------------


@pytest.fixture
def paged(table: TenantTable) -> tuple[TenantTable, str]:
    """Texas has five items under 'p' and 'q' (and GSI1 'g'); returns a first-page cursor."""
    for tenant in ("texas", "utah"):
        with tenant_scope(ctx(tenant)):
            for i in range(5):
                for pk in ("p", "q"):
                    table.put_item({"pk": pk, "sk": f"{i}", "GSI1PK": "p", "GSI1SK": f"{i}"})
    with tenant_scope(ctx("texas")):
        cursor = table.query("p", limit=2).cursor
    assert cursor is not None
    return table, cursor


def _texas(fn: Callable[[], object]) -> None:
    with tenant_scope(ctx("texas")), pytest.raises(InvalidCursorError):
        fn()


def test_forged_cursor_is_refused(paged: tuple[TenantTable, str]) -> None:
    table, _ = paged
    payload = base64.urlsafe_b64encode(
        json.dumps([["pk", "S", _b64(b"p")], ["sk", "S", _b64(b"3")]]).encode()
    )
    for forged in (payload.decode() + ".AAAA", "garbage", "", "." * 3, "x" * 10000):
        _texas(lambda c=forged: table.query("p", limit=2, cursor=c))  # type: ignore[misc]


def test_edited_cursor_is_refused(paged: tuple[TenantTable, str]) -> None:
    table, cursor = paged
    payload, _, signature = cursor.partition(".")
    entries = json.loads(_unb64(payload))
    entries[1][2] = _b64(b"0")
    edited = _b64(json.dumps(entries).encode())
    _texas(lambda: table.query("p", limit=2, cursor=f"{edited}.{signature}"))
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    _texas(lambda: table.query("p", limit=2, cursor=f"{payload}.{flipped}"))


def test_truncated_cursor_is_refused(paged: tuple[TenantTable, str]) -> None:
    table, cursor = paged
    for cut in (cursor[:-1], cursor[:-10], cursor[: len(cursor) // 2], cursor[1:]):
        _texas(lambda c=cut: table.query("p", limit=2, cursor=c))  # type: ignore[misc]


def test_cursor_of_another_tenant_is_refused(paged: tuple[TenantTable, str]) -> None:
    table, texas_cursor = paged
    with tenant_scope(ctx("utah")), pytest.raises(InvalidCursorError):
        table.query("p", limit=2, cursor=texas_cursor)
    with tenant_scope(ctx("texas")):
        assert [i["sk"] for i in table.query("p", limit=2, cursor=texas_cursor).items] == ["2", "3"]


def test_cursor_replayed_on_another_query_is_refused(paged: tuple[TenantTable, str]) -> None:
    table, cursor = paged
    _texas(lambda: table.query("q", limit=2, cursor=cursor))
    _texas(lambda: table.query("p", limit=2, cursor=cursor, sort=Key("sk").gt("0")))
    _texas(lambda: table.query("p", limit=2, cursor=cursor, filter=Attr("x").not_exists()))
    _texas(lambda: table.query("p", limit=2, cursor=cursor, forward=False))
    with tenant_scope(ctx("texas")):  # a different page size is the same query
        assert len(table.query("p", limit=3, cursor=cursor).items) == 3


def test_cursor_replayed_on_another_index_is_refused(paged: tuple[TenantTable, str]) -> None:
    table, cursor = paged
    _texas(lambda: table.query("p", index="GSI1", limit=2, cursor=cursor))
    with tenant_scope(ctx("texas")):
        gsi_cursor = table.query("p", index="GSI1", limit=2).cursor
    _texas(lambda: table.query("p", limit=2, cursor=gsi_cursor))


def test_cursor_of_another_table_or_secret_is_refused(
    paged: tuple[TenantTable, str], client: Any
) -> None:
    _, cursor = paged
    other_secret = TenantTable(TABLE, client=client, cursor_key=SecretKey(b"t" * 32))
    _texas(lambda: other_secret.query("p", limit=2, cursor=cursor))
    other_table = TenantTable("other", client=client, cursor_key=SECRET)
    _texas(lambda: other_table.query("p", limit=2, cursor=cursor))


def test_cursor_hides_the_tenant_prefix(paged: tuple[TenantTable, str]) -> None:
    _, cursor = paged
    entries = json.loads(_unb64(cursor.partition(".")[0]))
    assert [(name, tag, _unb64(value)) for name, tag, value in entries] == [
        ("pk", "S", b"p"),
        ("sk", "S", b"1"),
    ]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# -- conditions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "condition",
    [
        Attr("pk").eq("utah#secret"),
        Attr("pk").begins_with("utah#"),
        Attr("pk").ne("x"),
        Attr("pk").is_in(["utah#a", "utah#b"]),
        Attr("pk").size().gt(0),
        Attr("pk").contains("#"),
        Attr("GSI1PK").eq("utah#parks"),
        Attr("x").eq(Attr("pk")),
        Attr("pk.nested").eq(1),
        Attr("pk[0]").eq("u"),
        Attr("pk[0][1]").eq("u"),
        Attr("pk.a.b").eq(1),
        Attr("pk.a[2].b").exists() & Attr("pk.a[2].b").eq(1),
        Attr("GSI1PK[3]").eq("u"),
        Attr("GSI1PK.x[0]").begins_with("utah#"),
        Attr("x").eq(Attr("GSI1PK[0]")),
        Attr("x").exists() & Attr("pk").lt("z"),
        ~Attr("pk").eq("a"),
    ],
)
def test_conditions_comparing_partition_keys_are_refused(
    offline: TenantTable, condition: Any
) -> None:
    with pytest.raises(InvalidExpressionError, match="partition-key"):
        offline.put_item({"pk": "a", "sk": "1"}, condition=condition)
    with pytest.raises(InvalidExpressionError, match="partition-key"):
        offline.query("a", filter=condition)
    with pytest.raises(InvalidExpressionError, match="partition-key"):
        offline.update_item({"pk": "a", "sk": "1"}, set={"x": 1}, condition=condition)
    with pytest.raises(InvalidExpressionError, match="partition-key"):
        offline.transaction().condition_check({"pk": "a", "sk": "1"}, condition)
    with pytest.raises(InvalidExpressionError, match="partition-key"), offline.transaction() as tx:
        tx.put({"pk": "a", "sk": "1"}, condition=condition)


def test_sort_condition_on_the_partition_key_is_refused(offline: TenantTable) -> None:
    for sort in (Key("pk").eq("utah#a"), Key("GSI1PK").begins_with("utah")):
        with pytest.raises(InvalidExpressionError):
            offline.query("a", sort=sort)
    with pytest.raises(InvalidExpressionError):
        offline.query("a", sort=Key("sk").eq("1") & Key("pk").eq("utah#a"))


def test_existence_checks_on_the_partition_key_are_allowed(table: TenantTable) -> None:
    with tenant_scope(ctx("texas")):
        table.put_item({"pk": "a", "sk": "1"}, condition=Attr("pk").not_exists())
        table.delete_item({"pk": "a", "sk": "1"}, condition=Attr("pk").exists())


@pytest.mark.parametrize("raw", ["attribute_not_exists(pk)", "pk = :v OR #x = :y", b"pk"])
def test_raw_expression_strings_are_refused(offline: TenantTable, raw: Any) -> None:
    with pytest.raises(InvalidExpressionError):
        offline.put_item({"pk": "a", "sk": "1"}, condition=raw)
    with pytest.raises(InvalidExpressionError):
        offline.query("a", filter=raw)
    with pytest.raises(InvalidExpressionError):
        offline.query("a", sort=raw)


def test_caller_placeholders_are_refused(offline: TenantTable) -> None:
    put: Any = offline.put_item
    query: Any = offline.query
    with pytest.raises(TypeError):
        put({"pk": "a", "sk": "1"}, ExpressionAttributeValues={":v": {"S": "utah#x"}})
    with pytest.raises(TypeError):
        query("a", KeyConditionExpression="pk = :v", ExpressionAttributeNames={"#p": "pk"})


@pytest.mark.parametrize("name", ["a[0]) OR (b", "a[x]", "a..b", "", "a]"])
def test_expression_syntax_in_attribute_names_is_refused(offline: TenantTable, name: str) -> None:
    with pytest.raises(InvalidExpressionError):
        offline.query("a", filter=Attr(name).eq(1))


# -- no unscoped access --------------------------------------------------------------------


def test_scan_and_partiql_are_forbidden(offline: TenantTable) -> None:
    for call in (
        offline.scan,
        offline.execute_statement,
        offline.batch_execute_statement,
        offline.execute_transaction,
    ):
        with pytest.raises(ScanForbiddenError, match="query"):
            call(Statement='SELECT * FROM "tenantkit-test"')


def test_no_unscoped_client_or_forwarding(offline: TenantTable) -> None:
    assert not hasattr(offline, "client")
    assert not hasattr(offline, "meta")
    assert not hasattr(type(offline), "__getattr__")
    for name in ("get_paginator", "describe_table", "execute_statement_raw", "query_raw"):
        assert not hasattr(offline, name)


# -- key validation before any AWS call ------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda t: t.get_item({"pk": "é" * 1022, "sk": "1"}),  # 2044 + "texas#" > 2048 bytes
        lambda t: t.get_item({"pk": "p", "sk": "€" * 342}),  # 1026 bytes
        lambda t: t.get_item({"pk": "p", "sk": b"x" * 1025}),
        lambda t: t.put_item({"pk": "p", "sk": "1", "GSI1PK": "x" * 2043}),
        lambda t: t.update_item({"pk": "p", "sk": "1"}, set={"GSI1PK": "x" * 2043}),
        lambda t: t.query("x" * 2043),
        lambda t: t.batch_get([{"pk": "p", "sk": "1"}, {"pk": "x" * 2043, "sk": "1"}]),
        lambda t: t.batch_write(put=[{"pk": "p", "sk": "1"}, {"pk": "x" * 2043, "sk": "1"}]),
        lambda t: t.transaction().delete({"pk": "x" * 2043, "sk": "1"}),
        lambda t: t.transaction().update({"pk": "p", "sk": "1"}, set={"GSI1PK": "x" * 2043}),
    ],
)
def test_oversize_keys_fail_before_any_aws_call(
    offline: TenantTable, call: Callable[[TenantTable], object]
) -> None:
    with pytest.raises(InvalidKeyError, match="over"):
        call(offline)


def test_largest_keys_are_accepted(table: TenantTable) -> None:
    with tenant_scope(ctx("texas")):
        pk, sk = "é" * 1021, "€" * 341  # 2042 + 6 = 2048 bytes; 1023 bytes
        table.put_item({"pk": pk, "sk": sk})
        assert table.get_item({"pk": pk, "sk": sk}) == {"pk": pk, "sk": sk}


@pytest.mark.parametrize(
    "call",
    [
        lambda t: t.get_item({"pk": "", "sk": "1"}),
        lambda t: t.get_item({"pk": "p", "sk": ""}),
        lambda t: t.get_item({"pk": "p", "sk": b""}),
        lambda t: t.get_item({"pk": None, "sk": "1"}),
        lambda t: t.get_item({"pk": 5, "sk": "1"}),
        lambda t: t.get_item({"pk": "p"}),
        lambda t: t.get_item({"pk": "p", "sk": "1", "x": 1}),
        lambda t: t.put_item({"pk": "p", "sk": "1", "GSI1PK": ""}),
        lambda t: t.put_item({"sk": "1"}),
        lambda t: t.update_item({"pk": "p", "sk": "1"}, set={"GSI1PK": ""}),
        lambda t: t.query(""),
        lambda t: t.query("", index="GSI1"),
        lambda t: t.delete_item({"pk": "", "sk": "1"}),
        lambda t: t.batch_write(delete=[{"pk": "", "sk": "1"}]),
    ],
)
def test_empty_or_malformed_keys_fail_before_any_aws_call(
    offline: TenantTable, call: Callable[[TenantTable], object]
) -> None:
    with pytest.raises(InvalidKeyError):
        call(offline)


# -- values --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda t: t.put_item({"pk": "p", "sk": "1", "price": 1.5}),
        lambda t: t.put_item({"pk": "p", "sk": "1", "m": {"l": [1, 2.0]}}),
        lambda t: t.put_item({"pk": "p", "sk": "1", "s": {1, 2.5}}),
        lambda t: t.update_item({"pk": "p", "sk": "1"}, add={"n": 0.1}),
        lambda t: t.query("p", filter=Attr("n").gt(0.5)),
        lambda t: t.get_item({"pk": "p", "sk": 1.0}),
    ],
)
def test_floats_are_refused_with_a_clear_message(
    offline: TenantTable, call: Callable[[TenantTable], object]
) -> None:
    with pytest.raises(InvalidValueError, match="Decimal"):
        call(offline)


# -- error leaks ---------------------------------------------------------------------------


def _capture_params(client: Any) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        sent.append(dict(params))

    client.meta.events.register("provide-client-params.dynamodb.*", record)
    return sent


def test_condition_failure_does_not_leak_the_stored_item(table: TenantTable, client: Any) -> None:
    sent = _capture_params(client)
    with tenant_scope(ctx("texas")):
        table.put_item({"pk": "p", "sk": "1", "secret": "s3cr3t-value"})
        x_is_2 = Attr("x").eq(2)
        failures = [
            lambda: table.put_item({"pk": "p", "sk": "1"}, if_not_exists=True),
            lambda: table.update_item(
                {"pk": "p", "sk": "1"}, set={"x": 1}, condition=Attr("x").eq(2)
            ),
            lambda: table.delete_item({"pk": "p", "sk": "1"}, condition=x_is_2),
            lambda: transact(
                table, lambda tx: tx.condition_check({"pk": "p", "sk": "1"}, Attr("x").eq(2))
            ),
        ]
        for fail in failures:
            with pytest.raises(ConditionFailedError) as err:
                fail()
            exc = err.value
            assert "s3cr3t" not in f"{exc} {exc!r} {vars(exc)} {exc.args}"
            assert exc.__cause__ is None
            assert exc.__context__ is None
            assert exc.status_code == 409
    conditional = [p for p in sent if "ConditionExpression" in p]
    conditional += [i for p in sent for op in p.get("TransactItems", ()) for i in op.values()]
    assert conditional
    assert all(p["ReturnValuesOnConditionCheckFailure"] == "NONE" for p in conditional)


def test_condition_is_evaluated_on_own_item_not_another_tenants(
    table: TenantTable, client: Any
) -> None:
    with tenant_scope(ctx("utah")):
        table.put_item({"pk": "p", "sk": "1", "owner": "utah"})
    with tenant_scope(ctx("texas")):
        # Utah's item with the same logical key does not exist for texas.
        table.put_item({"pk": "p", "sk": "1", "owner": "texas"}, if_not_exists=True)
        with pytest.raises(ConditionFailedError):
            table.update_item(
                {"pk": "p", "sk": "1"}, set={"x": 1}, condition=Attr("owner").eq("utah")
            )
    with tenant_scope(ctx("utah")):
        assert table.get_item({"pk": "p", "sk": "1"}) == {"pk": "p", "sk": "1", "owner": "utah"}
