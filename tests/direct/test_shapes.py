"""Spec shapes the parks spec does not use: silo tables named by the authorizer, table
queries with an optional begins_with, typed writes, and a table without an enumeration."""

from __future__ import annotations

from typing import Any

import pytest

from tenantkit.direct import parse_spec, render_openapi

from .conftest import Route
from .velocity import render

KEY = {"pattern": "^[a-z0-9-]{1,32}$", "max_length": 32}


def _spec(table: dict[str, Any], *routes: dict[str, Any]) -> dict[str, Route]:
    spec = {
        "authorizer": {"name": "A", "function": "arn:aws:lambda:us-east-1:1:function:a"},
        "tables": {"t": {"partition_key": "pk", "sort_key": "sk", **table}},
        "routes": list(routes),
    }
    document = render_openapi(parse_spec(spec))
    return {
        operation["operationId"]: Route(document, path, method)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    }


HISTORY = {
    "operation": "history",
    "method": "GET",
    "path": "/parks/{parkId}/statuses",
    "path_parameters": {"parkId": KEY},
    "query_parameters": {"since": KEY},
    "dynamodb": {
        "action": "Query",
        "table": "t",
        "partition": "park#{parkId}",
        "begins_with": "status#{since}",
        "forward": False,
        "returns": {"at": {"attribute": "sk"}, "owner": {"attribute": "pk"}},
    },
}


@pytest.fixture(scope="module")
def silo() -> dict[str, Route]:
    return _spec({"name": {"authorizer": "table"}}, HISTORY)


def test_the_table_comes_from_the_authorizer(silo: dict[str, Route]) -> None:
    out = render(
        silo["history"].request,
        path={"parkId": "p"},
        authorizer={"table": 'texas-silo", "x": "'},
    ).json()
    assert out["TableName"] == 'texas-silo", "x": "'  # escaped: DynamoDB refuses the name
    assert out["ScanIndexForward"] is False
    assert "IndexName" not in out


def test_an_optional_begins_with_applies_only_when_given(silo: dict[str, Route]) -> None:
    without = render(silo["history"].request, path={"parkId": "p"}).json()
    assert without["KeyConditionExpression"] == "#p = :p"
    assert without["ExpressionAttributeNames"] == {"#p": "pk"}
    assert without["ExpressionAttributeValues"] == {":p": {"S": "texas#park#p"}}
    given = render(silo["history"].request, path={"parkId": "p"}, query={"since": "2026'"}).json()
    assert given["KeyConditionExpression"] == "#p = :p AND begins_with(#s, :s)"
    assert given["ExpressionAttributeNames"] == {"#p": "pk", "#s": "sk"}
    assert given["ExpressionAttributeValues"][":s"] == {"S": "status#2026'"}


def test_a_table_query_cursor_is_its_sort_key(silo: dict[str, Route]) -> None:
    key = {"pk": {"S": "texas#park#p"}, "sk": {"S": 'status#"1~'}}
    item = {**key, "tkshard": {"S": "texas#1"}}
    page = render(
        silo["history"].response(), body={"Items": [item], "LastEvaluatedKey": key}
    ).json()
    assert page["items"] == [{"at": 'status#"1~', "owner": "park#p"}]  # partition key stripped
    out = render(
        silo["history"].request, path={"parkId": "p"}, query={"cursor": page["cursor"]}
    ).json()
    assert out["ExclusiveStartKey"] == key
    two = render(silo["history"].request, path={"parkId": "p"}, query={"cursor": "a~sb"}).json()
    assert two["Select"] == "INVALID_LIMIT_OR_CURSOR"


def test_typed_values_are_written_typed_and_without_a_shard() -> None:
    routes = _spec(
        {"name": "things", "enumeration": None},
        {
            "operation": "addThing",
            "method": "PUT",
            "path": "/things/{id}",
            "path_parameters": {"id": KEY},
            "body": {
                "count": {"type": "integer", "minimum": 0},
                "ratio": {"type": "number", "required": False},
                "open": {"type": "boolean"},
            },
            "dynamodb": {
                "action": "PutItem",
                "table": "t",
                "key": {"pk": "thing#{id}", "sk": "thing"},
                "attributes": {"count": "{count}", "ratio": "{ratio}", "open": "{open}"},
                "returns": {"count": {"type": "integer"}},
            },
        },
    )
    request = routes["addThing"].request
    out = render(request, path={"id": "a"}, body={"count": 3, "ratio": 0.5, "open": False}).json()
    assert out["TableName"] == "things"
    assert "tkshard" not in out["ExpressionAttributeNames"].values()
    values = out["ExpressionAttributeValues"]
    names = {v: k for k, v in out["ExpressionAttributeNames"].items()}
    assert values[names["count"].replace("#", ":")] == {"N": "3"}
    assert values[names["ratio"].replace("#", ":")] == {"N": "0.5"}
    assert values[names["open"].replace("#", ":")] == {"BOOL": False}
    absent = render(request, path={"id": "a"}, body={"count": 3, "open": True}).json()
    assert "ratio" not in absent["ExpressionAttributeNames"].values()
    assert len(absent["ExpressionAttributeValues"]) == 2
