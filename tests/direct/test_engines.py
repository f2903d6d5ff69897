"""``tenantkit local``'s mapping-template engine renders the generated templates as the
tests' own engine does, hostile values included, so what these tests prove also holds
for the emulator that serves the templates."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings

from .conftest import Route
from .test_dynamodb import TEXT
from .velocity import render

gateway_vtl = pytest.importorskip("tenantkit.local.gateway.vtl")
mapping = pytest.importorskip("tenantkit.local.gateway.mapping")


def _both(
    template: str,
    *,
    body: Any = None,
    path: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> tuple[Any, Any]:
    ours = render(template, body=body, path=path, query=query)
    context: dict[str, Any] = {
        "authorizer": {"tenantId": "texas", "userId": "alice"},
        "requestId": "c0ffee00-0000-4000-8000-00000000000a",
        "requestTime": "30/Nov/2026:10:00:00 +0000",
        "responseOverride": {"status": None, "header": {}},
    }
    raw = "" if body is None else json.dumps(body)
    variables = {
        "input": mapping.Input(raw, path or {}, query or {}, {}),
        "util": mapping.Util(),
        "context": context,
    }
    theirs = gateway_vtl.render(template, variables)
    parsed = json.loads(theirs) if theirs.strip() else None
    return (ours.json() if ours.text.strip() else None, ours.status), (
        parsed,
        context["responseOverride"]["status"],
    )


@settings(max_examples=30, deadline=None)
@given(value=TEXT, other=TEXT)
def test_requests_render_alike(parks: dict[str, Route], value: str, other: str) -> None:
    body = {"id": value, "name": other, "status": value}
    for name, route in parks.items():
        if route.integration["type"] != "aws":
            continue
        has_body = "requestBody" in route.operation
        ours, theirs = _both(
            route.request,
            body=body if has_body else None,
            path={"parkId": other},
            query={"cursor": f"{value}~s{other}~sx"},
        )
        assert ours == theirs, name


@settings(max_examples=30, deadline=None)
@given(value=TEXT)
def test_responses_render_alike(parks: dict[str, Route], value: str) -> None:
    item = {
        "pk": {"S": "texas#park#" + value},
        "sk": {"S": "park"},
        "GSI1PK": {"S": "texas#park"},
        "GSI1SK": {"S": value},
        "name": {"S": value},
    }
    key = {k: item[k] for k in ("pk", "sk", "GSI1PK", "GSI1SK")}
    answers = {
        "listParks": {
            "Items": [item, {**item, "pk": {"S": "washington#x"}}],
            "LastEvaluatedKey": key,
        },
        "getPark": {"Item": item},
        "addPark": {"Attributes": item},
        "renamePark": {"Attributes": item},
    }
    for name, answer in answers.items():
        ours, theirs = _both(parks[name].response(), body=answer)
        assert ours == theirs, name
    for name in ("getPark", "addPark", "updateParkStatus"):
        error = {"__type": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException"}
        ours, theirs = _both(parks[name].response("4\\d{2}"), body=error)
        assert ours == theirs, name
    failed = {
        "status": "FAILED",
        "error": "DynamoDB.ConditionalCheckFailedException",
        "cause": value,
    }
    ours, theirs = _both(parks["updateParkStatus"].response(), body=failed)
    assert ours == theirs
