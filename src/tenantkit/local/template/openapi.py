"""An API's resolved OpenAPI document, read into what the gateway runs.

Each path and method (``x-amazon-apigateway-any-method`` is ``ANY``) becomes an
:class:`Operation`: its ``x-amazon-apigateway-integration`` (``aws_proxy`` to a Lambda
function, ``aws`` to a service action, or ``mock``), its authorizer (``security``, then
the document's), and its request validation (``x-amazon-apigateway-request-validator``
with the document's ``x-amazon-apigateway-request-validators``; body schemas from
``requestBody`` (OpenAPI 3) or a ``body`` parameter (Swagger 2), ``$ref``s into
``components.schemas`` or ``definitions`` kept resolvable). Lambda authorizers come from
the security schemes (:mod:`.security_schemes`).

What cannot run locally (``http`` integrations, Cognito authorizers, ``path/`` service
URIs, ``contentHandling``, gateway responses, binary media types: any API Gateway
extension or integration key not read here nor listed as having no local effect) fails
at start naming its place in the document. API key schemes in ``security`` are not
enforced, as there are no usage plans locally.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tenantkit.local.template.model import TemplateError
from tenantkit.local.template.security_schemes import LAMBDA_URI, api_key_schemes, mapping_at

__all__ = ["Integration", "IntegrationResponse", "Operation", "Validation", "operations"]

METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}
ANY_METHOD = "x-amazon-apigateway-any-method"
_ACTION_URI = re.compile(
    r"arn:aws[\w-]*:apigateway:[\w-]+:(?P<service>[\w-]+):action/(?P<action>\w+)"
)
_PASSTHROUGH = {"WHEN_NO_MATCH", "WHEN_NO_TEMPLATES", "NEVER"}
_EXTENSION = "x-amazon-apigateway-"
# API Gateway extensions: read, or accepted with no local effect; any other one fails.
_DOCUMENT_EXTENSIONS = {
    "x-amazon-apigateway-request-validators",
    "x-amazon-apigateway-request-validator",
} | {  # no local effect
    "x-amazon-apigateway-api-key-source",
    "x-amazon-apigateway-documentation",
    "x-amazon-apigateway-endpoint-configuration",
    "x-amazon-apigateway-importexport-version",
    "x-amazon-apigateway-minimum-compression-size",
    "x-amazon-apigateway-policy",
    "x-amazon-apigateway-tag-value",
}
_OPERATION_EXTENSIONS = {"x-amazon-apigateway-integration", "x-amazon-apigateway-request-validator"}
_INTEGRATION_KEYS = {
    "type",
    "uri",
    "httpMethod",
    "requestTemplates",
    "requestParameters",
    "passthroughBehavior",
    "responses",
} | {"credentials", "timeoutInMillis", "cacheNamespace", "cacheKeyParameters", "description"}
_RESPONSE_KEYS = {"statusCode", "responseTemplates", "responseParameters"}


@dataclass(frozen=True)
class IntegrationResponse:
    """One of ``responses``: chosen when ``pattern`` fully matches (None: ``default``)."""

    pattern: str | None
    status: int
    templates: Mapping[str, str]
    parameters: Mapping[str, str]


@dataclass(frozen=True)
class Integration:
    type: str  # "aws_proxy", "aws" or "mock"
    uri: str
    target: str  # aws_proxy: the function's ARN; aws: "<service>:<Action>"; mock: ""
    request_templates: Mapping[str, str]
    request_parameters: Mapping[str, str]
    passthrough: str
    responses: tuple[IntegrationResponse, ...]


@dataclass(frozen=True)
class Validation:
    """What a request validator checks before any template runs."""

    body: bool
    parameters: bool
    schemas: Mapping[str, Any]  # content type -> JSON schema (``$ref``s resolvable)
    required: tuple[tuple[str, str], ...]  # ("header" | "querystring" | "path", name)


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    integration: Integration
    security: str | None  # the authorizer's name; None: open; "" : the API's default
    validation: Validation | None
    where: str


def _strings(value: Any, where: str) -> dict[str, str]:
    found = mapping_at(value, where)
    for key, item in found.items():
        if not isinstance(item, str):
            raise TemplateError(f"{where}.{key}: must be a string")
    return found


def _media_types(value: Any, where: str) -> dict[str, str]:
    """Templates by media type, lower-cased as requests' types are compared."""
    return {key.lower(): template for key, template in _strings(value, where).items()}


def operations(body: Mapping[str, Any], where: str) -> list[Operation]:
    """Every operation of the document's ``paths``, in document order."""
    validators = mapping_at(
        body.get("x-amazon-apigateway-request-validators"),
        f"{where}.x-amazon-apigateway-request-validators",
    )
    _extensions(body, _DOCUMENT_EXTENSIONS, where)
    default_validator = body.get("x-amazon-apigateway-request-validator")
    api_keys = api_key_schemes(body)
    default_security = _security(body.get("security"), f"{where}.security", "", api_keys)
    found: list[Operation] = []
    for path, item in mapping_at(body.get("paths"), f"{where}.paths").items():
        item_where = f"{where}.paths.{path}"
        item = mapping_at(item, item_where)
        shared = item.get("parameters") or []
        for key, operation in item.items():
            method = "ANY" if key == ANY_METHOD else key.upper() if key in METHODS else None
            if method is None:
                continue
            op_where = f"{item_where}.{key}"
            operation = mapping_at(operation, op_where)
            _extensions(operation, _OPERATION_EXTENSIONS, op_where)
            raw = operation.get("x-amazon-apigateway-integration")
            if raw is None:
                raise TemplateError(f"{op_where}: x-amazon-apigateway-integration is required")
            name = operation.get("x-amazon-apigateway-request-validator", default_validator)
            validation = None
            if name is not None:
                if name not in validators:
                    raise TemplateError(f"{op_where}: no request validator named {name!r}")
                flags = mapping_at(
                    validators[name], f"{where}.x-amazon-apigateway-request-validators"
                )
                validation = _validation(body, operation, shared, flags, op_where)
            found.append(
                Operation(
                    method,
                    str(path),
                    _integration(raw, f"{op_where}.x-amazon-apigateway-integration"),
                    _security(
                        operation.get("security"),
                        f"{op_where}.security",
                        default_security,
                        api_keys,
                    ),
                    validation,
                    op_where,
                )
            )
    return found


def _extensions(value: Mapping[str, Any], known: set[str], where: str) -> None:
    for key in value:
        if str(key).startswith(_EXTENSION) and key not in known:
            raise TemplateError(f"{where}.{key}: not emulated by tenantkit local")


def _security(value: Any, where: str, default: str | None, api_keys: set[str]) -> str | None:
    """The authorizer a ``security`` list names (API key schemes aside): ``[]`` is none;
    absent, ``default``."""
    if value is None:
        return default
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise TemplateError(f"{where}: a list of security requirements")
    names = [name for requirement in value for name in requirement if name not in api_keys]
    if len(names) > 1:
        raise TemplateError(f"{where}: one authorizer per method locally, not {names}")
    return names[0] if names else None


def _integration(raw: Any, where: str) -> Integration:
    raw = mapping_at(raw, where)
    for key in raw:
        if key not in _INTEGRATION_KEYS:
            raise TemplateError(f"{where}.{key}: not emulated by tenantkit local")
    kind = str(raw.get("type", "")).lower()
    uri = str(raw.get("uri", ""))
    if kind == "aws_proxy":
        matched = LAMBDA_URI.fullmatch(uri)
        if matched is None:
            raise TemplateError(f"{where}.uri: aws_proxy runs a Lambda function's invocation URI")
        target = matched["arn"]
    elif kind == "aws":
        action = _ACTION_URI.fullmatch(uri)
        if action is None:
            raise TemplateError(
                f"{where}.uri: arn:aws:apigateway:<region>:<service>:action/<Action> locally"
            )
        target = f"{action['service']}:{action['action']}"
    elif kind == "mock":
        target = ""
    else:
        raise TemplateError(
            f"{where}.type: {kind or None!r} does not run locally (aws_proxy, aws, mock)"
        )
    passthrough = str(raw.get("passthroughBehavior", "WHEN_NO_MATCH")).upper()
    if passthrough not in _PASSTHROUGH:
        raise TemplateError(f"{where}.passthroughBehavior: one of {sorted(_PASSTHROUGH)}")
    responses: list[IntegrationResponse] = []
    for pattern, response in mapping_at(raw.get("responses"), f"{where}.responses").items():
        response_where = f"{where}.responses.{pattern}"
        response = mapping_at(response, response_where)
        for key in response:
            if key not in _RESPONSE_KEYS:
                raise TemplateError(f"{response_where}.{key}: not emulated by tenantkit local")
        status = str(response.get("statusCode", ""))
        if not (status.isdigit() and 100 <= int(status) <= 599):
            raise TemplateError(f"{response_where}.statusCode: an HTTP status code")
        if pattern != "default":
            try:
                re.compile(pattern)
            except re.error as error:
                raise TemplateError(
                    f"{response_where}: not a regular expression: {error}"
                ) from None
        responses.append(
            IntegrationResponse(
                None if pattern == "default" else str(pattern),
                int(status),
                _media_types(
                    response.get("responseTemplates"), f"{response_where}.responseTemplates"
                ),
                _strings(
                    response.get("responseParameters"), f"{response_where}.responseParameters"
                ),
            )
        )
    return Integration(
        kind,
        uri,
        target,
        _media_types(raw.get("requestTemplates"), f"{where}.requestTemplates"),
        _strings(raw.get("requestParameters"), f"{where}.requestParameters"),
        passthrough,
        tuple(responses),
    )


def _validation(
    body: Mapping[str, Any],
    operation: Mapping[str, Any],
    shared: Any,
    flags: Mapping[str, Any],
    where: str,
) -> Validation:
    definitions = {
        "components": body.get("components") or {},
        "definitions": body.get("definitions") or {},
    }
    schemas: dict[str, Any] = {}
    content = mapping_at(
        mapping_at(operation.get("requestBody"), f"{where}.requestBody").get("content"),
        f"{where}.requestBody.content",
    )
    for media_type, media in content.items():
        schema = mapping_at(media, f"{where}.requestBody.content.{media_type}").get("schema")
        if schema is not None:
            schemas[media_type.lower()] = {"allOf": [schema], **definitions}
    required: list[tuple[str, str]] = []
    parameters = [
        *(shared if isinstance(shared, list) else []),
        *(operation.get("parameters") or []),
    ]
    for index, parameter in enumerate(parameters):
        parameter = mapping_at(parameter, f"{where}.parameters[{index}]")
        location = parameter.get("in")
        if location == "body" and "schema" in parameter:
            for media_type in (
                operation.get("consumes") or body.get("consumes") or ["application/json"]
            ):
                schemas[str(media_type).lower()] = {"allOf": [parameter["schema"]], **definitions}
        elif parameter.get("required") and location in ("header", "query", "path"):
            required.append(
                ("querystring" if location == "query" else str(location), str(parameter["name"]))
            )
    return Validation(
        bool(flags.get("validateRequestBody", False)),
        bool(flags.get("validateRequestParameters", False)),
        schemas,
        tuple(required),
    )
