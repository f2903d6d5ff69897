"""A body field's ``default``: written by the templates when the body leaves the field out,
escaped like a sent value, in the request model as ``default``, and refused by the spec
when the field's own model would refuse it."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantkit.direct import parse_spec, render_openapi
from tenantkit.errors import ConfigurationError

from .conftest import Route
from .test_dynamodb import HOSTILE, TEXT
from .test_engines import _both
from .velocity import render

#: A default with the characters a template must not take as they are: ``#`` (a
#: directive) and ``/`` (which escapeJavaScript writes ``\/``).
NOTE = "a#b/c d"
DEFAULTS: dict[str, Any] = {
    "status": "park-opened",
    "note": NOTE,
    "visitors": 3,
    "rating": 2.5,
    "featured": False,
}
BODY = {
    "id": {"pattern": "^[a-z0-9-]{1,64}$", "max_length": 64},
    "status": {"enum": ["park-opened", "park-closed"], "default": "park-opened"},
    "note": {"max_length": 50, "default": NOTE},
    "visitors": {"type": "integer", "minimum": 0, "default": 3},
    "rating": {"type": "number", "maximum": 5, "default": 2.5},
    "featured": {"type": "boolean", "default": False},
}
SPEC: dict[str, Any] = {
    "authorizer": {"name": "Gate", "function": "arn:aws:lambda:us-east-1:1:function:gate"},
    "tables": {"parks": {"name": "parks", "partition_key": "pk", "sort_key": "sk"}},
    "routes": [
        {
            "operation": "addPark",
            "method": "POST",
            "path": "/parks",
            "body": BODY,
            "dynamodb": {
                "action": "PutItem",
                "table": "parks",
                "key": {"pk": "park#{id}", "sk": "park"},
                "attributes": {name: "{" + name + "}" for name in DEFAULTS},
            },
        },
        {
            "operation": "reviewPark",
            "method": "POST",
            "path": "/parks/{parkId}/reviews",
            "path_parameters": {"parkId": {}},
            "body": {name: BODY[name] for name in DEFAULTS},
            "stepfunctions": {
                "action": "StartExecution",
                "state_machine": "arn:aws:states:us-east-1:1:stateMachine:Review",
            },
        },
    ],
}
#: How the tests read a DynamoDB AttributeValue back into a JSON value.
NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")


@pytest.fixture(scope="module")
def routes() -> dict[str, Route]:
    document = render_openapi(parse_spec(SPEC))
    return {
        "addPark": Route(document, "/parks", "post"),
        "reviewPark": Route(document, "/parks/{parkId}/reviews", "post"),
    }


def _written(request: str, body: dict[str, Any]) -> dict[str, Any]:
    """The attributes an addPark request writes, as the JSON values they stand for."""
    out = render(request, body=body).json()
    names, values = out["ExpressionAttributeNames"], out["ExpressionAttributeValues"]
    written = {}
    for name, value in re.findall(r"(#a\d+) = (:a\d+)", out["UpdateExpression"]):
        [(kind, stored)] = values[value].items()
        if kind == "N":
            assert NUMBER.fullmatch(stored), stored
            stored = json.loads(stored)
        written[names[name]] = stored
    return written


def test_an_absent_field_is_written_with_its_default(routes: dict[str, Route]) -> None:
    assert _written(routes["addPark"].request, {"id": "p"}) == DEFAULTS


def test_a_sent_field_is_written_as_sent(routes: dict[str, Route]) -> None:
    sent = {"status": "park-closed", "note": "mine", "visitors": 0, "rating": 4, "featured": True}
    assert _written(routes["addPark"].request, {"id": "p", **sent}) == sent


@settings(max_examples=100, deadline=None)
@given(
    note=st.one_of(st.none(), st.just(""), TEXT, st.sampled_from(HOSTILE)),
    featured=st.one_of(st.none(), st.booleans()),
)
def test_attack_a_sent_value_is_never_mistaken_for_the_default_or_the_reverse(
    routes: dict[str, Route], note: str | None, featured: bool | None
) -> None:
    """The model: a value that prints as nothing (absent, or ``""``, which every template
    treats as absent) becomes the default; anything else is written exactly as sent."""
    body: dict[str, Any] = {"id": "p"}
    if note is not None:
        body["note"] = note
    if featured is not None:
        body["featured"] = featured
    written = _written(routes["addPark"].request, body)
    assert written["note"] == (note or NOTE)
    assert written["featured"] is (False if featured is None else featured)


def test_an_execution_input_carries_the_defaults(routes: dict[str, Route]) -> None:
    request = routes["reviewPark"].request
    absent = render(request, path={"parkId": "p"}, body={}).json()
    assert json.loads(absent["input"]) == {
        "tenantId": "texas",
        "userId": "alice",
        "parkId": "p",
        **DEFAULTS,
    }
    sent = {"note": '"}, "tenantId": "washington', "featured": True}
    given_ = render(request, path={"parkId": "p"}, body=sent).json()
    assert json.loads(given_["input"]) == {
        "tenantId": "texas",
        "userId": "alice",
        "parkId": "p",
        **DEFAULTS,
        **sent,
    }


def test_the_request_model_names_the_defaults_and_requires_none_of_them() -> None:
    document = render_openapi(parse_spec(SPEC))
    model = document["components"]["schemas"]["AddParkRequest"]
    assert model["required"] == ["id"]
    assert {n: s["default"] for n, s in model["properties"].items() if "default" in s} == DEFAULTS


def test_a_field_with_a_default_is_optional_even_when_it_says_so() -> None:
    data = copy.deepcopy(SPEC)
    data["routes"][0]["body"]["note"]["required"] = False
    assert not parse_spec(data).routes[0].body["note"].required


BAD_DEFAULTS = [
    ("note", {"default": "x", "required": True}, "optional"),
    ("visitors", {"default": "3"}, "not of type integer"),
    ("visitors", {"default": True}, "not of type integer"),
    ("visitors", {"default": 2.5}, "not of type integer"),
    ("featured", {"default": 0}, "not of type boolean"),
    ("note", {"default": 1}, "not of type string"),
    ("rating", {"default": float("inf")}, "finite"),
    ("rating", {"default": 6}, "minimum and maximum"),
    ("visitors", {"default": -1}, "minimum and maximum"),
    ("status", {"default": "park-closing"}, "enum"),
    ("id", {"default": "Upper", "required": False}, "pattern"),
    ("note", {"default": "x" * 51}, "longer"),
    ("note", {"default": "", "min_length": 1}, "shorter"),
    ("note", {"default": 'quote "'}, "only letters"),
    ("note", {"default": "$context.authorizer.tenantId"}, "only letters"),
    ("note", {"default": "back\\slash"}, "only letters"),
    ("note", {"default": "x", "pattern": "(?<=x"}, "cannot be checked"),
]


@pytest.mark.parametrize(("field", "change", "refusal"), BAD_DEFAULTS)
def test_a_default_the_field_would_refuse_is_a_configuration_error(
    field: str, change: dict[str, Any], refusal: str
) -> None:
    data = copy.deepcopy(SPEC)
    data["routes"][0]["body"][field].update(change)
    with pytest.raises(ConfigurationError, match=re.escape(refusal)) as error:
        parse_spec(data)
    assert f"routes[0].body.{field}" in str(error.value)


def test_a_default_that_looks_like_a_directive_stays_text() -> None:
    data = copy.deepcopy(SPEC)
    data["routes"][0]["body"]["note"]["default"] = "#end #set"
    request = Route(render_openapi(parse_spec(data)), "/parks", "post").request
    assert _written(request, {"id": "p"})["note"] == "#end #set"


@settings(max_examples=30, deadline=None)
@given(note=st.one_of(st.none(), TEXT))
def test_the_local_gateway_renders_defaults_as_the_tests_engine_does(
    routes: dict[str, Route], note: str | None
) -> None:
    body = {"id": "p"} if note is None else {"id": "p", "note": note}
    for name, route in routes.items():
        ours, theirs = _both(route.request, body=body, path={"parkId": "p"})
        assert ours == theirs, name
