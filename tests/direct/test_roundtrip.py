"""The key format both ways, on moto: what generated VTL writes, TenantTable reads, and what
TenantTable writes, generated VTL reads (its requests sent as API Gateway would send them)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tenantkit import TenantContext, tenant_scope
from tenantkit.dynamo import TenantTable
from tenantkit.dynamo.enumeration import Enumeration
from tests.tables import create_gsi1_table

from .conftest import TABLE, Route
from .velocity import render

INDEX = {"GSI1": "GSI1PK"}


@pytest.fixture
def client() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_gsi1_table(client, TABLE, tenant_items=True)
        yield client


def _table(client: Any) -> TenantTable:
    return TenantTable(TABLE, indexes=INDEX, client=client, enumeration=Enumeration())


def _call(client: Any, route: Route, tenant: str | None = "texas", **request: Any) -> Any:
    """Render the route's request, send it to DynamoDB, render the response (or the 4xx)."""
    body = render(route.request, tenant=tenant, **request).json()
    operation = getattr(
        client,
        {
            "GetItem": "get_item",
            "Query": "query",
            "UpdateItem": "update_item",
            "DeleteItem": "delete_item",
        }[route.action],
    )
    try:
        answer = operation(**body)
    except client.exceptions.ClientError as error:
        code = error.response["Error"]["Code"]
        return render(route.response("4\\d{2}"), tenant=tenant, body={"__type": "x#" + code})
    answer.pop("ResponseMetadata", None)
    return render(route.response(), tenant=tenant, body=json.loads(json.dumps(answer)))


def test_what_vtl_writes_tenant_table_reads(client: Any, parks: dict[str, Route]) -> None:
    body = {"id": "enchanted-rock", "name": 'Enchanted "Rock" \\ #$', "status": "park-opened"}
    created = _call(client, parks["addPark"], body=body)
    assert created.status is None
    assert created.json() == {"id": "enchanted-rock"}
    with tenant_scope(TenantContext("texas", "alice")):
        item = _table(client).get_item({"pk": "park#enchanted-rock", "sk": "park"})
        assert item is not None
        assert item["name"] == body["name"]
        assert item["GSI1PK"] == "park"
        assert list(_table(client).enumerate_keys()) == [
            {"pk": "park#enchanted-rock", "sk": "park"}
        ]
    with tenant_scope(TenantContext("washington", "bob")):
        assert _table(client).get_item({"pk": "park#enchanted-rock", "sk": "park"}) is None
    again = _call(client, parks["addPark"], body=body)
    assert again.status == 409


def test_what_tenant_table_writes_vtl_reads(client: Any, parks: dict[str, Route]) -> None:
    for tenant, names in {"texas": ["a", "b", "c", "d", "e"], "washington": ["b", "x"]}.items():
        with tenant_scope(TenantContext(tenant, "u")):
            for name in names:
                _table(client).put_item(
                    {
                        "pk": f"park#{name}",
                        "sk": "park",
                        "GSI1PK": "park",
                        "GSI1SK": name,
                        "name": f"{tenant} {name}",
                    }
                )
    got = _call(client, parks["getPark"], path={"parkId": "b"})
    assert got.json() == {"id": "b", "name": "texas b", "status": None}
    assert _call(client, parks["getPark"], path={"parkId": "x"}).status == 404
    seen, cursor = [], None
    for _ in range(10):
        page = _call(
            client,
            parks["listParks"],
            query={"limit": "2", **({"cursor": cursor} if cursor else {})},
        )
        out = page.json()
        seen += [item["name"] for item in out["items"]]
        cursor = out["cursor"]
        if cursor is None:
            break
    assert seen == [f"texas {n}" for n in "abcde"]
    washington = _call(client, parks["listParks"], tenant="washington").json()
    assert [item["id"] for item in washington["items"]] == ["b", "x"]


def test_a_cursor_from_another_tenant_reads_only_the_callers_own(
    client: Any, parks: dict[str, Route]
) -> None:
    for tenant in ("texas", "washington"):
        with tenant_scope(TenantContext(tenant, "u")):
            for name in "abc":
                _table(client).put_item(
                    {
                        "pk": f"park#{name}",
                        "sk": "park",
                        "GSI1PK": "park",
                        "GSI1SK": name,
                        "name": tenant,
                    }
                )
    first = _call(client, parks["listParks"], tenant="washington", query={"limit": "1"}).json()
    stolen = _call(
        client, parks["listParks"], tenant="texas", query={"cursor": first["cursor"]}
    ).json()
    assert {item["name"] for item in stolen["items"]} == {"texas"}
    refused = _call(client, parks["listParks"], query={"cursor": "a~sb"})
    assert refused.status == 400


def test_update_and_delete_need_the_item(client: Any, parks: dict[str, Route]) -> None:
    missing = _call(client, parks["renamePark"], path={"parkId": "nope"}, body={"name": "n"})
    assert missing.status == 404
    assert _call(client, parks["deletePark"], path={"parkId": "nope"}).status == 404
    _call(client, parks["addPark"], body={"id": "p", "name": "old"})
    renamed = _call(client, parks["renamePark"], path={"parkId": "p"}, body={"name": "new"})
    assert renamed.json() == {"id": "p", "name": "new"}
    with tenant_scope(TenantContext("texas", "alice")):
        assert list(_table(client).enumerate_keys()) == [{"pk": "park#p", "sk": "park"}]
    deleted = _call(client, parks["deletePark"], path={"parkId": "p"})
    assert (deleted.status, deleted.text.strip()) == (None, "")
    with tenant_scope(TenantContext("texas", "alice")):
        assert _table(client).get_item({"pk": "park#p", "sk": "park"}) is None


def test_no_tenant_reaches_no_table(client: Any, parks: dict[str, Route]) -> None:
    for tenant in ("", None):
        for operation, request in [
            ("getPark", {"path": {"parkId": "p"}}),
            ("listParks", {}),
            ("addPark", {"body": {"id": "p", "name": "n"}}),
        ]:
            answer = _call(client, parks[operation], tenant=tenant, **request)
            assert answer.status == 403, operation
    assert client.scan(TableName=TABLE)["Items"] == []
