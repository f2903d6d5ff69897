"""The OpenAPI 3 document of a spec: a SAM ``DefinitionBody`` for ``AWS::Serverless::Api``.

Every route gets the Lambda authorizer's security scheme, the request validator
``tenantkit`` (body and parameters) and, with a body, a JSON-schema model generated from its
fields (``additionalProperties: false``, ``required``, ``maxLength`` on every string,
``pattern`` where declared), so malformed or oversized input is refused before any
template runs. ARNs, roles and table names may be CloudFormation intrinsics; templates
that place one are wrapped in ``Fn::Sub`` (Velocity's own ``${h}`` written ``${!h}``).
"""

from __future__ import annotations

import json
from typing import Any

from tenantkit.direct.dynamodb import dynamodb_integration
from tenantkit.direct.integration import Integration, slot
from tenantkit.direct.spec import FieldSpec, Parameter, Route, Spec
from tenantkit.direct.stepfunctions import stepfunctions_integration
from tenantkit.direct.values import max_length_of

__all__ = ["VALIDATOR", "dump", "render_openapi"]

VALIDATOR = "tenantkit"
_ERROR_SCHEMA = "Error"
_LAMBDA_URI = "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"


def render_openapi(spec: Spec) -> dict[str, Any]:
    """The OpenAPI document (plain data, ready for YAML/JSON) of a validated spec."""
    info: dict[str, Any] = {"title": spec.api.title, "version": spec.api.version}
    if spec.api.description:
        info["description"] = spec.api.description
    schemas: dict[str, Any] = {
        _ERROR_SCHEMA: {
            "type": "object",
            "required": ["message"],
            "properties": {"message": {"type": "string"}},
        }
    }
    paths: dict[str, dict[str, Any]] = {}
    for route in spec.routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(spec, route, schemas)
    return {
        "openapi": "3.0.1",
        "info": info,
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": _security_scheme(spec)},
        "x-amazon-apigateway-request-validators": {
            VALIDATOR: {"validateRequestBody": True, "validateRequestParameters": True}
        },
    }


def dump(document: dict[str, Any], form: str = "yaml") -> str:
    """The document as YAML (block style, keys in order) or JSON text."""
    if form == "json":
        return json.dumps(document, indent=2) + "\n"
    import yaml

    class Dumper(yaml.SafeDumper):
        """No anchors (SAM and readers want plain data); templates as literal blocks."""

        def ignore_aliases(self, data: Any) -> bool:
            return True

    def text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
        style = "|" if "\n" in value and "\x00" not in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, text)
    return str(yaml.dump(document, Dumper=Dumper, sort_keys=False, allow_unicode=True, width=100))


def _security_scheme(spec: Spec) -> dict[str, Any]:
    authorizer = spec.authorizer
    header = authorizer.identity_source.removeprefix("method.request.header.")
    if "," in header or header.startswith("method."):
        header = "Authorization"
    settings: dict[str, Any] = {
        "type": authorizer.type,
        "authorizerUri": _function_uri(authorizer.function),
        "authorizerResultTtlInSeconds": authorizer.ttl,
        "identitySource": authorizer.identity_source,
    }
    if authorizer.credentials is not None:
        settings["authorizerCredentials"] = authorizer.credentials
    return {
        authorizer.name: {
            "type": "apiKey",
            "name": header,
            "in": "header",
            "x-amazon-apigateway-authtype": "custom",
            "x-amazon-apigateway-authorizer": settings,
        }
    }


def _function_uri(function: str | dict[str, Any]) -> Any:
    return {"Fn::Sub": [_LAMBDA_URI + "${Function}/invocations", {"Function": function}]}


def _operation(spec: Spec, route: Route, schemas: dict[str, Any]) -> dict[str, Any]:
    operation: dict[str, Any] = {"operationId": route.operation}
    if route.summary:
        operation["summary"] = route.summary
    parameters = [_parameter(n, p, "path") for n, p in route.path_parameters.items()]
    parameters += [_parameter(n, p, "query") for n, p in route.query_parameters.items()]
    if route.dynamodb is not None and route.dynamodb.action == "Query":
        limit = route.dynamodb.limit
        parameters.append(
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "schema": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": limit.maximum,
                    "default": limit.default,
                },
            }
        )
        parameters.append(
            {
                "name": "cursor",
                "in": "query",
                "required": False,
                "description": "The cursor of the previous page: opaque, and only for this route.",
                "schema": {"type": "string", "maxLength": 16384},
            }
        )
    if parameters:
        operation["parameters"] = parameters
    if route.body:
        schemas[f"{_title(route.operation)}Request"] = _model(route.body)
        operation["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"$ref": f"#/components/schemas/{_title(route.operation)}Request"}
                }
            },
        }
    operation["security"] = [{spec.authorizer.name: []}]
    operation["x-amazon-apigateway-request-validator"] = VALIDATOR
    if route.lambda_ is not None:
        operation["responses"] = {"default": {"description": "The function's response."}}
        integration: dict[str, Any] = {
            "type": "aws_proxy",
            "httpMethod": "POST",
            "uri": _function_uri(route.lambda_.function),
            "passthroughBehavior": "when_no_match",
        }
        if route.lambda_.tenant_header:
            integration["requestParameters"] = {
                "integration.request.header.X-Amz-Tenant-Id": "context.authorizer.tenantId"
            }
        if route.credentials is not None:
            integration["credentials"] = route.credentials
        operation["x-amazon-apigateway-integration"] = integration
        return operation
    built = (
        dynamodb_integration(spec, route)
        if route.dynamodb is not None
        else stepfunctions_integration(route)
    )
    if built.body_schema is not None:
        schemas[f"{_title(route.operation)}Response"] = built.body_schema
    operation["responses"] = _responses(built, route.operation)
    operation["x-amazon-apigateway-integration"] = _aws(
        built, route.credentials or spec.credentials
    )
    return operation


def _aws(built: Integration, credentials: Any) -> dict[str, Any]:
    integration: dict[str, Any] = {
        "type": "aws",
        "httpMethod": "POST",
        "uri": {
            "Fn::Sub": f"arn:${{AWS::Partition}}:apigateway:${{AWS::Region}}:"
            f"{built.service}:action/{built.action}"
        },
        "passthroughBehavior": "never",
        "requestTemplates": {"application/json": _sub(built.request, built.substitutions)},
        "responses": {
            pattern: {"statusCode": str(status), "responseTemplates": {"application/json": body}}
            for pattern, (status, body) in built.responses.items()
        },
    }
    if credentials is not None:
        integration["credentials"] = credentials
    return integration


def _sub(template: str, substitutions: dict[str, Any]) -> Any:
    """The template as is, or as ``Fn::Sub`` placing its intrinsics."""
    if not substitutions:
        return template
    text = template.replace("${", "${!")
    for name in substitutions:
        text = text.replace(slot(name), "${" + name + "}")
    return {"Fn::Sub": [text, substitutions]}


def _responses(built: Integration, operation: str) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    error = {"application/json": {"schema": {"$ref": f"#/components/schemas/{_ERROR_SCHEMA}"}}}
    for status in built.statuses:
        if status == built.success:
            response: dict[str, Any] = {"description": "Success."}
            if built.body_schema is not None and status != 204:
                ref = {"$ref": f"#/components/schemas/{_title(operation)}Response"}
                response["content"] = {"application/json": {"schema": ref}}
        else:
            response = {"description": "An error.", "content": error}
        responses[str(status)] = response
    return responses


def _model(body: dict[str, FieldSpec]) -> dict[str, Any]:
    properties = {}
    for name, field in body.items():
        schema: dict[str, Any] = {"type": field.type}
        extra = {
            "pattern": field.pattern,
            "maxLength": max_length_of(field),
            "minLength": field.min_length,
            "enum": field.enum,
            "minimum": field.minimum,
            "maximum": field.maximum,
            "default": field.default,
            "description": field.description,
        }
        schema.update({k: v for k, v in extra.items() if v is not None})
        properties[name] = schema
    model: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    required = [name for name, field in body.items() if field.required]
    if required:
        model["required"] = required
    return model


def _parameter(name: str, parameter: Parameter, where: str) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if parameter.pattern is not None:
        schema["pattern"] = parameter.pattern
    if parameter.max_length is not None:
        schema["maxLength"] = parameter.max_length
    out: dict[str, Any] = {"name": name, "in": where, "required": where == "path", "schema": schema}
    if parameter.description:
        out["description"] = parameter.description
    return out


def _title(operation: str) -> str:
    return operation[:1].upper() + operation[1:]
