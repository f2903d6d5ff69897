"""openapi.yaml describes the served API: valid, complete, and the same as what serves it.

The Lambda routes validate with Powertools (their pydantic models); the direct routes
with API Gateway's validator and the models of the generated definition.yaml. Each test
below reads the validating side's own description and compares it with openapi.yaml
(decision 11). Schemathesis runs openapi.yaml against the served app in
tests/local/test_example_openapi.py.
"""

from __future__ import annotations

import importlib
from typing import Any

import yaml

from tests.examples.conftest import EXAMPLE, direct_routes, load_definition, template_routes

SPEC = EXAMPLE / "openapi.yaml"


def load_spec() -> dict[str, object]:
    with SPEC.open() as f:
        spec: dict[str, object] = yaml.safe_load(f)
    return spec


def test_the_spec_is_valid_openapi() -> None:
    from openapi_spec_validator import validate

    validate(load_spec())  # type: ignore[arg-type]


def test_the_spec_lists_exactly_the_templates_routes() -> None:
    paths = load_spec()["paths"]
    assert isinstance(paths, dict)
    documented = {
        (method.upper(), path)
        for path, item in paths.items()
        for method in item
        if method in {"get", "put", "post", "delete", "patch"}
    }
    assert documented == set(template_routes())


# What a request may carry is what the routes' annotations validate. Powertools writes
# those down as OpenAPI (get_openapi_schema); the example's spec must say the same.
IGNORED = {"title", "description", "default", "example"}


def normalized(schema: Any, components: dict[str, Any]) -> Any:
    """A request schema reduced to what it accepts: references resolved, annotations
    dropped, and pydantic's ``T | None = None`` read as an optional ``T`` (an explicit
    null is the same as an absent field to the server)."""
    if isinstance(schema, list):
        return [normalized(item, components) for item in schema]
    if not isinstance(schema, dict):
        return int(schema) if isinstance(schema, float) and schema.is_integer() else schema
    if "$ref" in schema:
        target = components[schema["$ref"].rsplit("/", 1)[1]]
        return normalized(
            {**target, **{k: v for k, v in schema.items() if k != "$ref"}}, components
        )
    if len(schema.get("allOf", ())) == 1:
        rest = {k: v for k, v in schema.items() if k != "allOf"}
        return normalized({**schema["allOf"][0], **rest}, components)
    options = schema.get("anyOf", ())
    if len(options) == 2 and {"type": "null"} in options:
        (kept,) = [option for option in options if option != {"type": "null"}]
        rest = {k: v for k, v in schema.items() if k != "anyOf"}
        return normalized({**kept, **rest}, components)
    found = {
        k: normalized(v, components)
        for k, v in schema.items()
        if k not in IGNORED and k != "properties"
    }
    if "properties" in schema:  # field names, not schema keywords
        found["properties"] = {
            n: normalized(s, components) for n, s in schema["properties"].items()
        }
    for key in ("enum", "required"):
        if isinstance(found.get(key), list):
            found[key] = sorted(found[key])
    return found


def request_shape(operation: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    return {
        "body": normalized(body.get("schema"), components),
        "parameters": {
            (p["in"], p["name"]): (p.get("required", False), normalized(p["schema"], components))
            for p in operation.get("parameters", [])
        },
    }


def served_shapes() -> dict[tuple[str, str], dict[str, Any]]:
    """(METHOD, /path/{param}) -> the request shape its validator checks: the function's
    resolver for a Lambda route, API Gateway's (the definition's models) for a direct one."""
    shapes = {}
    definition = load_definition()
    for (method, path), handler in template_routes().items():
        if handler is None:
            operation = definition["paths"][path][method.lower()]
            schemas = definition["components"]["schemas"]
            shapes[(method, path)] = request_shape(operation, schemas)
            continue
        module = importlib.import_module(handler.split(".")[0])
        document = module.app.get_openapi_schema().model_dump(
            by_alias=True, exclude_none=True, mode="json"
        )
        components = document.get("components", {}).get("schemas", {})
        operation = document["paths"][path][method.lower()]
        shapes[(method, path)] = request_shape(operation, components)
    return shapes


def documented_shapes() -> dict[tuple[str, str], dict[str, Any]]:
    spec = load_spec()
    components = spec["components"]  # type: ignore[index]
    resolvable = {**components["schemas"], **components["parameters"]}  # type: ignore[index]
    shapes = {}
    for path, item in spec["paths"].items():  # type: ignore[attr-defined]
        shared = item.get("parameters", [])
        for method, operation in item.items():
            if method == "parameters":
                continue
            parameters = [
                normalized(p, resolvable) for p in shared + operation.get("parameters", [])
            ]
            shapes[(method.upper(), path)] = request_shape(
                {**operation, "parameters": parameters},
                components["schemas"],  # type: ignore[index]
            )
    return shapes


def test_the_spec_accepts_exactly_what_the_routes_validate() -> None:
    """Bodies, path and query parameters: the same fields, types, enums, patterns and
    limits in openapi.yaml as in the pydantic models and annotations the server uses."""
    served, documented = served_shapes(), documented_shapes()
    assert set(served) == set(documented)
    for route, shape in served.items():
        assert documented[route] == shape, route


def test_post_customers_declares_the_roles_it_validates() -> None:
    """The reference's clients send roles; the spec's enum is what the server checks."""
    body = documented_shapes()[("POST", "/customers")]["body"]
    roles = body["properties"]["roles"]
    assert roles["items"]["enum"] == ["admin", "member", "visitor"]
    assert "roles" not in body.get("required", [])


def test_the_direct_routes_document_the_answers_they_give() -> None:
    """Every status a direct route's integration can answer, plus the authorizer's."""
    definition, documented = load_definition(), load_spec()
    for method, path in direct_routes():
        served = set(definition["paths"][path][method.lower()]["responses"])
        listed = set(documented["paths"][path][method.lower()]["responses"])  # type: ignore[index]
        assert listed == served | {"401", "403"}, (method, path)
