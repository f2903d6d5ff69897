"""TenantTable and TenantSessions over HTTP against a moto server on a loopback port."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from boto3.dynamodb.conditions import Attr, Key

from tenantkit.context import tenant_scope
from tenantkit.dynamo import TenantSessions, TenantTable
from tenantkit.errors import ConditionFailedError, InvalidCursorError, TenantIsolationError

from .conftest import SECRET, TABLE, create_table, ctx

pytestmark = pytest.mark.integration

ROLE = "arn:aws:iam::123456789012:role/tenant-data"
TABLE_ARN = f"arn:aws:dynamodb:us-east-1:123456789012:table/{TABLE}"


def _factory(endpoint: str) -> Any:
    def factory(service_name: str, **kwargs: Any) -> Any:
        return boto3.client(service_name, endpoint_url=endpoint, region_name="us-east-1", **kwargs)

    return factory


def test_tenant_sessions_and_tables_over_http(moto_reset: str) -> None:
    factory = _factory(moto_reset)
    raw = factory("dynamodb")
    create_table(raw)
    sessions = TenantSessions(ROLE, tables=[TABLE_ARN], client_factory=factory)
    tables = {
        tenant: TenantTable(
            TABLE, client=sessions.client("dynamodb", tenant), tenant=tenant, cursor_key=SECRET
        )
        for tenant in ("texas", "utah", "ohio")
    }
    for tenant, table in tables.items():
        table.batch_write(
            put=[
                {
                    "pk": f"park#{i}",
                    "sk": "meta",
                    "GSI1PK": "parks",
                    "GSI1SK": f"{i:02}",
                    "t": tenant,
                }
                for i in range(7)
            ]
        )
    texas = tables["texas"]
    seen: list[str] = []
    cursor = None
    while True:
        page = texas.query("parks", index="GSI1", limit=3, cursor=cursor)
        seen += [item["GSI1SK"] for item in page.items]
        assert {item["t"] for item in page.items} <= {"texas"}
        if page.cursor is None:
            break
        cursor = page.cursor
    assert seen == [f"{i:02}" for i in range(7)]
    with pytest.raises(InvalidCursorError):
        tables["utah"].query(
            "parks",
            index="GSI1",
            limit=3,
            cursor=texas.query("parks", index="GSI1", limit=3).cursor,
        )
    assert texas.count("parks", index="GSI1", sort=Key("GSI1SK").gte("05")) == 2
    with pytest.raises(ConditionFailedError):
        texas.put_item({"pk": "park#1", "sk": "meta"}, condition=Attr("t").eq("utah"))
    with texas.transaction() as tx:
        tx.delete({"pk": "park#1", "sk": "meta"})
    assert texas.get_item({"pk": "park#1", "sk": "meta"}) is None
    assert tables["utah"].get_item({"pk": "park#1", "sk": "meta"}) is not None
    stored = raw.get_item(TableName=TABLE, Key={"pk": {"S": "ohio#park#1"}, "sk": {"S": "meta"}})
    assert stored["Item"]["GSI1PK"] == {"S": "ohio#parks"}


def test_foreign_item_written_over_http_is_withheld(moto_reset: str) -> None:
    raw = _factory(moto_reset)("dynamodb")
    create_table(raw)
    raw.put_item(
        TableName=TABLE,
        Item={
            "pk": {"S": "utah#x"},
            "sk": {"S": "1"},
            "GSI1PK": {"S": "texas#parks"},
            "GSI1SK": {"S": "1"},
        },
    )
    table = TenantTable(TABLE, client=raw, cursor_key=SECRET)
    with tenant_scope(ctx("texas")), pytest.raises(TenantIsolationError):
        table.query("parks", index="GSI1")
