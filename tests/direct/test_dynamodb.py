"""Generated DynamoDB templates, rendered by a Velocity engine: JSON that cannot be escaped,
keys from the authorizer's tenant only, in TenantTable's format, and typed responses."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tenantkit.direct import parse_spec, render_openapi

from .conftest import TABLE, Route
from .velocity import render

#: Any text a caller can send in JSON (lone surrogates cannot be UTF-8).
TEXT = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=40)
HOSTILE = [
    '"',
    "\\",
    "}",
    "#",
    "$",
    "\x00",
    "\n",
    "'",
    "\\'",
    "#$x",
    "$!{tenant}",
    "${h}",
    '", "pk": {"S": "washington#park#x"}, "x": "',
    '"}}, "pk": {"S": "a"}, "_": {"S": "',
    "#end",
    "#set($tenant = 'washington')",
    "~s~t~",
    "\u2028\u2029",
    "\U0001f3de",
]
#: What may follow "#" in a generated template: directives only.
DIRECTIVE = re.compile(r"#(?!set\(|if\(|elseif\(|else\b|\{else\}|end\b|foreach\()")


def _templates(route: Route) -> list[str]:
    responses = route.integration["responses"]
    return [route.request] + [route.response(pattern) for pattern in responses]


def test_templates_hold_no_hash_outside_directives(parks: dict[str, Route]) -> None:
    for route in parks.values():
        if route.integration["type"] != "aws":
            continue
        for template in _templates(route):
            assert "#$" not in template
            assert DIRECTIVE.findall(template.replace('#set($h = "#")', "")) == []
            assert "$input.params('" not in template  # no path/query/header ambiguity


def _update(rendered: dict[str, Any]) -> dict[str, Any]:
    """The attributes an UpdateItem request sets, by attribute name (the tests' reading)."""
    names, values = rendered["ExpressionAttributeNames"], rendered["ExpressionAttributeValues"]
    expression = rendered["UpdateExpression"]
    assert expression.startswith("SET ")
    out = {}
    for assignment in re.split(r", (?=#)", expression[4:]):
        name, value = re.fullmatch(
            r"(#\w+) = (?:if_not_exists\(#\w+, )?(:\w+)\)?", assignment
        ).groups()
        out[names[name]] = values[value]
    return out


@settings(max_examples=100, deadline=None)
@given(park_id=TEXT, name=TEXT, status=TEXT)
@example(park_id=HOSTILE[12], name=HOSTILE[13], status="\\'")
def test_a_create_places_each_value_in_its_own_attribute(
    parks: dict[str, Route], park_id: str, name: str, status: str
) -> None:
    body = {"id": park_id, "name": name, "status": status}
    out = render(parks["addPark"].request, body=body).json()
    assert set(out) == {
        "TableName",
        "Key",
        "ConditionExpression",
        "UpdateExpression",
        "ExpressionAttributeNames",
        "ExpressionAttributeValues",
        "ReturnValues",
    }
    assert out["TableName"] == TABLE
    assert out["Key"] == {"pk": {"S": "texas#park#" + park_id}, "sk": {"S": "park"}}
    assert out["ConditionExpression"] == "attribute_not_exists(#k)"
    assert out["ExpressionAttributeNames"]["#k"] == "pk"
    assert _update(out) == {
        "tkshard": {"S": "texas#10"},  # the request id ends in "a"
        "GSI1PK": {"S": "texas#park"},
        "GSI1SK": {"S": park_id},
        "name": {"S": name},
        "status": {"S": status},
        "createdAt": {"S": "30/Nov/2026:10:00:00 +0000"},
    }


@pytest.mark.parametrize("hostile", HOSTILE)
def test_path_parameters_are_escaped_into_the_key(parks: dict[str, Route], hostile: str) -> None:
    for operation in ("getPark", "deletePark"):
        out = render(parks[operation].request, path={"parkId": hostile}).json()
        assert out["Key"] == {"pk": {"S": "texas#park#" + hostile}, "sk": {"S": "park"}}


@settings(max_examples=50, deadline=None)
@given(park_id=TEXT)
def test_any_path_parameter_lands_in_the_key_and_nowhere_else(
    parks: dict[str, Route], park_id: str
) -> None:
    out = render(parks["getPark"].request, path={"parkId": park_id}).json()
    assert out == {
        "TableName": TABLE,
        "Key": {"pk": {"S": "texas#park#" + park_id}, "sk": {"S": "park"}},
    }


def test_the_tenant_comes_from_the_authorizer_only(parks: dict[str, Route]) -> None:
    body = {"id": "x", "name": "n", "tenantId": "washington", "pk": "washington#park#x"}
    text = render(
        parks["addPark"].request,
        body=body,
        path={"tenantId": "washington"},
        query={"tenantId": "washington"},
    ).text
    assert "washington" not in text
    out = json.loads(text)
    assert out["Key"]["pk"] == {"S": "texas#park#x"}
    assert all(
        value["S"].startswith("texas#")
        for attribute, value in _update(out).items()
        if attribute in {"GSI1PK", "tkshard"}
    )


@pytest.mark.parametrize("tenant", [None, "", "a#b", 'texas"', "_control", "a" * 65, "texas\n"])
def test_without_a_valid_tenant_no_table_is_named_and_errors_are_403(
    parks: dict[str, Route], tenant: str | None
) -> None:
    request = {"path": {"parkId": "p"}, "body": {"id": "p", "name": "n", "status": "s"}}
    for name, route in parks.items():
        if route.integration["type"] != "aws":
            continue
        body = request["body"] if "requestBody" in route.operation else None
        out = render(route.request, tenant=tenant, path=request["path"], body=body).json()
        assert out.get("TableName", out.get("stateMachineArn")) == "-", name
        answer = {"__type": "com.amazonaws.dynamodb.v20120810#ValidationException"}
        rendered = render(route.response("4\\d{2}"), tenant=tenant, body=answer)
        assert (rendered.status, rendered.json()) == (403, {"message": "Forbidden"}), name


@pytest.mark.parametrize("digit", "0123456789abcdefABCDEF")
def test_the_shard_is_the_request_ids_last_hex_digit(parks: dict[str, Route], digit: str) -> None:
    body = {"id": "x", "name": "n"}
    out = render(parks["addPark"].request, body=body, request_id="r-" + digit).json()
    assert _update(out)["tkshard"] == {"S": f"texas#{int(digit, 16) % 16}"}


def test_a_request_id_without_a_hex_digit_writes_shard_zero(parks: dict[str, Route]) -> None:
    out = render(parks["addPark"].request, body={"id": "x", "name": "n"}, request_id="r-z").json()
    assert _update(out)["tkshard"] == {"S": "texas#0"}


def test_optional_values_absent_are_not_written(parks: dict[str, Route]) -> None:
    out = render(parks["addPark"].request, body={"id": "x", "name": "n"}).json()
    assert "status" not in _update(out)
    assert "status" not in out["ExpressionAttributeNames"].values()


def test_updates_keep_an_existing_shard_and_need_the_item(parks: dict[str, Route]) -> None:
    out = render(parks["renamePark"].request, path={"parkId": "x"}, body={"name": 'a"b'}).json()
    assert out["ConditionExpression"] == "attribute_exists(#k)"
    assert out["UpdateExpression"].startswith("SET #tk = if_not_exists(#tk, :tk)")
    assert _update(out)["name"] == {"S": 'a"b'}


def test_delete_that_must_exist(parks: dict[str, Route]) -> None:
    out = render(parks["deletePark"].request, path={"parkId": "x"}).json()
    assert out["ConditionExpression"] == "attribute_exists(#k)"
    assert out["ExpressionAttributeNames"] == {"#k": "pk"}


# -- queries: limit and cursor -------------------------------------------------------------


def _query(parks: dict[str, Route], query: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = render(parks["listParks"].request, query=query).json()
    return out


@settings(max_examples=50, deadline=None)
@given(limit=st.one_of(st.integers(-5, 150).map(str), TEXT))
@example(limit="0100")
@example(limit="1\n")
@example(limit='5, "Select": "ALL_ATTRIBUTES"')
def test_a_limit_is_placed_only_when_it_is_1_to_the_maximum(
    parks: dict[str, Route], limit: str
) -> None:
    out = _query(parks, {"limit": limit})
    if re.fullmatch(r"[1-9][0-9]?|100", limit):
        assert out["Limit"] == int(limit)
        assert "Select" not in out
    else:
        assert out["Select"] == "INVALID_LIMIT_OR_CURSOR"  # DynamoDB answers 400


def test_no_limit_is_the_default(parks: dict[str, Route]) -> None:
    out = _query(parks, {})
    assert out["Limit"] == 25
    assert "ExclusiveStartKey" not in out
    assert out["KeyConditionExpression"] == "#p = :p"
    assert out["ExpressionAttributeValues"] == {":p": {"S": "texas#park"}}


def _cursor_of(parks: dict[str, Route], key: dict[str, Any]) -> str | None:
    answer = {"Items": [], "LastEvaluatedKey": key}
    out = render(parks["listParks"].response(), body=answer).json()
    cursor: str | None = out["cursor"]
    return cursor


@settings(max_examples=100, deadline=None)
@given(sort=TEXT, park=TEXT)
@example(sort="a~sb", park="~t~s~")
def test_a_cursor_returns_exactly_the_key_it_came_from(
    parks: dict[str, Route], sort: str, park: str
) -> None:
    key = {
        "GSI1PK": {"S": "texas#park"},
        "GSI1SK": {"S": sort},
        "pk": {"S": "texas#park#" + park},
        "sk": {"S": "park"},
    }
    cursor = _cursor_of(parks, key)
    assert cursor is not None
    assert "texas" not in cursor.replace(sort, "").replace(park, "")  # the tenant is not in it
    out = _query(parks, {"cursor": cursor})
    assert "Select" not in out
    assert out["ExclusiveStartKey"] == key


@settings(max_examples=100, deadline=None)
@given(cursor=st.one_of(TEXT, st.lists(TEXT, max_size=4).map("~s".join)))
@example(cursor="x~swashington#park#x~spark")
@example(cursor="~s~s")
def test_a_hostile_cursor_stays_in_the_callers_tenant_or_is_refused(
    parks: dict[str, Route], cursor: str
) -> None:
    out = _query(parks, {"cursor": cursor})
    if cursor == "":  # as no cursor: the first page
        assert "ExclusiveStartKey" not in out
        assert "Select" not in out
        return
    if "Select" in out:
        assert "ExclusiveStartKey" not in out
        return
    start = out["ExclusiveStartKey"]
    assert set(start) == {"GSI1PK", "GSI1SK", "pk", "sk"}
    assert start["GSI1PK"] == {"S": "texas#park"}
    assert start["pk"]["S"].startswith("texas#")


def test_the_last_page_has_no_cursor(parks: dict[str, Route]) -> None:
    out = render(parks["listParks"].response(), body={"Items": []}).json()
    assert out == {"items": [], "cursor": None}


# -- responses ---------------------------------------------------------------------------------

TYPED = {
    "authorizer": {"name": "A", "function": "arn:aws:lambda:us-east-1:1:function:a"},
    "tables": {"t": {"name": "things", "partition_key": "pk", "sort_key": "sk"}},
    "routes": [
        {
            "operation": "getThing",
            "method": "GET",
            "path": "/things/{id}",
            "path_parameters": {"id": {"pattern": "^[a-z]+$", "max_length": 20}},
            "dynamodb": {
                "action": "GetItem",
                "table": "t",
                "key": {"pk": "thing#{id}", "sk": "thing"},
                "returns": {
                    "key": {"attribute": "pk"},
                    "count": {"type": "integer"},
                    "ratio": {"type": "number"},
                    "open": {"type": "boolean"},
                    "note": {},
                },
            },
        }
    ],
}


@pytest.fixture(scope="module")
def typed() -> Route:
    document = render_openapi(parse_spec(TYPED))
    return Route(document, "/things/{id}", "get")


def test_a_response_is_plain_json_of_the_declared_attributes(typed: Route) -> None:
    item = {
        "pk": {"S": "texas#thing#a"},
        "sk": {"S": "thing"},
        "tkshard": {"S": "texas#3"},
        "count": {"N": "42"},
        "ratio": {"N": "-1.5"},
        "open": {"BOOL": False},
        "note": {"S": 'say "hi"\n\\ \'/\u0000'},
        "secret": {"S": "not declared"},
    }
    rendered = render(typed.response(), body={"Item": item})
    assert rendered.status is None
    assert rendered.json() == {
        "key": "thing#a",
        "count": 42,
        "ratio": -1.5,
        "open": False,
        "note": 'say "hi"\n\\ \'/\u0000',
    }


def test_absent_attributes_are_null(typed: Route) -> None:
    item = {"pk": {"S": "texas#thing#a"}, "sk": {"S": "thing"}, "open": {"BOOL": True}}
    out = render(typed.response(), body={"Item": item}).json()
    assert out == {"key": "thing#a", "count": None, "ratio": None, "open": True, "note": None}


@pytest.mark.parametrize(
    "answer",
    [
        {},
        {"Item": {"pk": {"S": "washington#thing#a"}, "sk": {"S": "thing"}}},
        {"Item": {"pk": {"S": "texas-north#thing#a"}, "sk": {"S": "thing"}}},
        {"Item": {"sk": {"S": "thing"}}},
    ],
)
def test_a_missing_or_foreign_item_is_404(typed: Route, answer: dict[str, Any]) -> None:
    rendered = render(typed.response(), body=answer)
    assert rendered.status == 404
    assert rendered.json() == {"message": "Not Found"}


def test_a_query_withholds_other_tenants_items(parks: dict[str, Route]) -> None:
    def park(tenant: str, index_tenant: str, name: str) -> dict[str, Any]:
        return {
            "pk": {"S": f"{tenant}#park#{name}"},
            "sk": {"S": "park"},
            "GSI1PK": {"S": f"{index_tenant}#park"},
            "GSI1SK": {"S": name},
            "name": {"S": name},
        }

    items = [
        park("texas", "texas", "a"),
        park("washington", "texas", "b"),
        park("texas", "washington", "c"),
        park("texas", "texas", "d"),
    ]
    out = render(parks["listParks"].response(), body={"Items": items}).json()
    assert out["items"] == [
        {"id": "a", "name": "a", "status": None},
        {"id": "d", "name": "d", "status": None},
    ]


@pytest.mark.parametrize(
    ("operation", "error", "status"),
    [
        ("addPark", "ConditionalCheckFailedException", 409),
        ("renamePark", "ConditionalCheckFailedException", 404),
        ("deletePark", "ConditionalCheckFailedException", 404),
        ("addPark", "ValidationException", 400),
        # text the service cannot encode (a lone surrogate the validator let through)
        ("addPark", "SerializationException", 400),
        ("listParks", "ProvisionedThroughputExceededException", 429),
        ("listParks", "ThrottlingException", 429),
        ("getPark", "ResourceNotFoundException", 500),
        ("getPark", "AccessDeniedException", 500),
    ],
)
def test_service_errors_map_to_statuses(
    parks: dict[str, Route], operation: str, error: str, status: int
) -> None:
    answer = {"__type": "com.amazonaws.dynamodb.v20120810#" + error, "message": 'a "quoted" value'}
    rendered = render(parks[operation].response("4\\d{2}"), body=answer)
    assert rendered.status == status
    assert "quoted" not in rendered.text
    assert set(rendered.json()) == {"message"}
