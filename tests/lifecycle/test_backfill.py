"""backfill-index: the one sanctioned scan tags tenant items written before the index."""

from __future__ import annotations

from tenantkit.dynamo.table import TenantTable
from tenantkit.lifecycle.backfill import backfill_index
from tests.calls import Calls

from .conftest import TABLE, App, park, run


def test_backfill_tags_tenant_items_only_and_is_idempotent(app: App) -> None:
    app.seed("texas", 0)  # a tenant record, user and claim: control-plane records
    for tenant, count in (("texas", 60), ("utah", 20)):
        before_index = TenantTable(TABLE, client=app.dynamodb, tenant=tenant)
        before_index.batch_write(put=[park(i) for i in range(count)])
    app.table("texas").put_item(park(999))  # written with the index already
    strays = [
        {"pk": {"S": "no-separator"}, "sk": {"S": "x"}},
        {"pk": {"S": "bad id#x"}, "sk": {"S": "x"}},
    ]
    for key in strays:
        app.dynamodb.put_item(TableName=TABLE, Item=key)
    assert app.table("texas").count_items() == 1
    calls = Calls(app.dynamodb)

    summary = backfill_index(app.spec, run("backfill-index", None))

    assert summary["tagged"] == 80
    assert summary["skipped"] == 2
    assert calls.seen["Scan"] >= 1  # the sanctioned one, and the only place it happens
    assert app.table("texas").count_items() == 61
    assert app.table("utah").count_items() == 20
    for key in strays:
        assert "tkshard" not in app.dynamodb.get_item(TableName=TABLE, Key=key)["Item"]
    control = app.dynamodb.get_item(
        TableName=TABLE, Key={"pk": {"S": "_tenant#texas"}, "sk": {"S": "_tenant"}}
    )["Item"]
    assert "tkshard" not in control
    again = backfill_index(app.spec, run("backfill-index", None))
    assert again["tagged"] == 0
