"""Request validators: required parameters and a JSON-schema body, before any template.

As API Gateway: a missing required header, query-string or path parameter is 400
``Missing required request parameters: [a, b]``, and a body that is not JSON or does not
match the model for its ``Content-Type`` is 400 ``Invalid request body``. Models are
JSON Schema draft 4, API Gateway's dialect, checked with ``jsonschema``. A content type
with no model is not validated (the integration then decides: see ``passthrough``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tenantkit.local.gateway.messages import Refusal, json_response
from tenantkit.local.template.openapi import Validation

__all__ = ["check_models", "validate_request"]


def _bad_request(message: str) -> Refusal:
    return Refusal(json_response(400, {"message": message}, "BadRequestException"))


def content_type(headers: Mapping[str, str]) -> str:
    """The request's media type, lower-cased; ``application/json`` when none is sent."""
    raw = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    return raw.split(";", 1)[0].strip().lower() or "application/json"


def check_models(validation: Validation) -> str | None:
    """What is wrong with the models (a schema ``jsonschema`` refuses), or None."""
    from jsonschema import Draft4Validator  # type: ignore[import-untyped]
    from jsonschema.exceptions import SchemaError  # type: ignore[import-untyped]

    for media_type, schema in validation.schemas.items():
        try:
            Draft4Validator.check_schema(schema)
        except SchemaError as error:
            return f"the model for {media_type} is not a JSON schema: {error.message}"
    return None


_VALIDATORS: dict[int, tuple[Any, Any]] = {}  # id(schema) -> (schema, its validator)


def _validator(schema: Any) -> Any:
    """The schema's validator, built once: a route's schema lives as long as the server."""
    cached = _VALIDATORS.get(id(schema))
    if cached is None or cached[0] is not schema:
        from jsonschema import Draft4Validator

        cached = _VALIDATORS[id(schema)] = (schema, Draft4Validator(schema))
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
