"""Request validators: required parameters and a JSON-schema body, before any template.

As API Gateway: a missing required header, query-string or path parameter is 400
``Missing required request parameters: [a, b]``, and a body that is not JSON or does not
match the model for its ``Content-Type`` is 400 ``Invalid request body``. Models are
JSON Schema draft 4, API Gateway's dialect, checked with ``jsonschema``, whose
``pattern``, ``patternProperties`` and ``additionalProperties`` keywords are replaced by
ones that read patterns as ECMA-262 does (:mod:`~tenantkit.local.gateway.ecma_regex`).
A content type with no model is not validated (the integration then decides: see
``passthrough``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

from tenantkit.local.gateway.ecma_regex import ecma_regex, ecma_search
from tenantkit.local.gateway.messages import Refusal, json_response
from tenantkit.local.template.openapi import Validation

__all__ = ["check_models", "validate_request"]


def _bad_request(message: str) -> Refusal:
    return Refusal(json_response(400, {"message": message}, "BadRequestException"))


def content_type(headers: Mapping[str, str]) -> str:
    """The request's media type, lower-cased; ``application/json`` when none is sent."""
    raw = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    return raw.split(";", 1)[0].strip().lower() or "application/json"


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[Any]:
    from jsonschema.exceptions import ValidationError  # type: ignore[import-untyped]

    if validator.is_type(instance, "string") and not ecma_search(pattern, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(
    validator: Any, patterns: Mapping[str, Any], instance: Any, schema: Any
) -> Iterator[Any]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for name, value in instance.items():
            if ecma_search(pattern, name):
                yield from validator.descend(value, subschema, path=name, schema_path=pattern)


def _additional_properties(
    validator: Any, additional: Any, instance: Any, schema: Any
) -> Iterator[Any]:
    from jsonschema.exceptions import ValidationError

    if not validator.is_type(instance, "object"):
        return
    patterns = schema.get("patternProperties", {})
    extras = [
        name
        for name in instance
        if name not in schema.get("properties", {})
        and not any(ecma_search(p, name) for p in patterns)
    ]
    if validator.is_type(additional, "object"):
        for name in extras:
            yield from validator.descend(instance[name], additional, path=name)
    elif additional is False and extras:
        yield ValidationError(f"Additional properties are not allowed ({sorted(extras)!r})")


@cache
def _validator_class() -> Any:
    """Draft 4 with patterns read as ECMA-262 reads them."""
    from jsonschema import Draft4Validator  # type: ignore[import-untyped]
    from jsonschema.validators import extend  # type: ignore[import-untyped]

    return extend(
        Draft4Validator,
        {
            "pattern": _pattern,
            "patternProperties": _pattern_properties,
            "additionalProperties": _additional_properties,
        },
    )


def _patterns(schema: Any) -> Iterator[str]:
    """Every ``pattern`` and ``patternProperties`` key, anywhere in ``schema``."""
    if isinstance(schema, list):
        for item in schema:
            yield from _patterns(item)
    elif isinstance(schema, dict):
        for key, value in schema.items():
            if key == "pattern" and isinstance(value, str):
                yield value
            if key == "patternProperties" and isinstance(value, dict):
                yield from (name for name in value if isinstance(name, str))
            yield from _patterns(value)


def check_models(validation: Validation) -> str | None:
    """What is wrong with the models (a schema ``jsonschema`` refuses, a pattern that is
    no ECMA-262 regular expression), or None."""
    import re

    from jsonschema.exceptions import SchemaError

    for media_type, schema in validation.schemas.items():
        try:
            # Patterns are checked below as ECMA-262 reads them, not by Python's re.
            _validator_class().check_schema(schema, format_checker=None)
        except SchemaError as error:
            return f"the model for {media_type} is not a JSON schema: {error.message}"
        for pattern in _patterns(schema):
            try:
                ecma_regex(pattern)
            except re.error as error:
                return f"the model for {media_type} has a bad pattern {pattern!r}: {error}"
    return None


_VALIDATORS: dict[int, tuple[Any, Any]] = {}  # id(schema) -> (schema, its validator)


def _validator(schema: Any) -> Any:
    """The schema's validator, built once: a route's schema lives as long as the server."""
    cached = _VALIDATORS.get(id(schema))
    if cached is None or cached[0] is not schema:
        cached = _VALIDATORS[id(schema)] = (schema, _validator_class()(schema))
    return cached[1]


def validate_request(
    validation: Validation, params: Mapping[str, Mapping[str, str]], body: bytes
) -> None:
    """:class:`Refusal` (400) for a request the validator refuses; ``params`` is
    ``$input.params()``: the ``path``, ``querystring`` and ``header`` maps."""
    if validation.parameters:
        headers = {name.lower() for name in params.get("header", {})}
        missing = [
            name
            for kind, name in validation.required
            if (name.lower() not in headers if kind == "header" else not params[kind].get(name))
        ]
        if missing:
            raise _bad_request(f"Missing required request parameters: [{', '.join(missing)}]")
    if not validation.body:
        return
    schema = validation.schemas.get(content_type(params.get("header", {})))
    if schema is None:
        return
    try:  # API Gateway validates an empty body as an empty object
        document = json.loads(body.decode("utf-8")) if body.strip() else {}
    except (ValueError, RecursionError):
        raise _bad_request("Invalid request body") from None
    validator = _validator(schema)
    if not validator.is_valid(document):
        raise _bad_request("Invalid request body")
