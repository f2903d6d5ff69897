"""An ``AWS::Serverless::Api``'s stage, Lambda authorizers and routes, from functions'
``Api`` events and from the API's ``DefinitionBody``.

Routes are parsed by :mod:`tenantkit._shared.apigw`, the grammar the role map compiles
policies from, so a path the gateway serves is one a role map can name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tenantkit._shared.apigw import Route
from tenantkit.errors import ConfigurationError
from tenantkit.local.function_specs import function_by_arn, text_values
from tenantkit.local.stack_specs import ApiSpec, AuthorizerSpec, RouteSpec, Stack
from tenantkit.local.template import Resolver, Resource, TemplateError
from tenantkit.local.template.openapi import operations
from tenantkit.local.template.security_schemes import definition_authorizers

__all__ = [
    "DEFAULT_AUTHORIZER_TTL",
    "MAX_AUTHORIZER_TTL",
    "api_authorizers",
    "api_spec",
    "check_routes",
    "definition_routes",
    "event_route",
]

DEFAULT_AUTHORIZER_TTL = 300
MAX_AUTHORIZER_TTL = 3600


def api_spec(resolver: Resolver, stack: Stack, api: Resource) -> ApiSpec:
    """The API with its id (already in ``stack.attributes``), stage and stage variables."""
    return ApiSpec(
        api.logical_id,
        str(stack.attributes[api.logical_id].ref),
        str(resolver.resolve(api.properties["StageName"], f"{api.where}.StageName")),
        text_values(resolver.resolve(api.properties.get("Variables"), f"{api.where}.Variables")),
    )


def api_authorizers(resolver: Resolver, stack: Stack, api: Resource) -> dict[str, AuthorizerSpec]:
    """The API's ``Auth.Authorizers``, with API Gateway's limits on their identity."""
    where = f"{api.where}.Properties.Auth.Authorizers"
    specs: dict[str, AuthorizerSpec] = {}
    auth = api.properties.get("Auth") or {}
    for name, raw in (auth.get("Authorizers") or {}).items():
        spec_where = f"{where}.{name}"
        function = function_by_arn(
            stack,
            resolver.resolve(raw["FunctionArn"], f"{spec_where}.FunctionArn"),
            f"{spec_where}.FunctionArn",
        )
        identity = resolver.resolve(raw.get("Identity") or {}, f"{spec_where}.Identity")
        payload_type = str(raw.get("FunctionPayloadType", "TOKEN"))
        ttl = int(identity.get("ReauthorizeEvery", DEFAULT_AUTHORIZER_TTL))
        if not 0 <= ttl <= MAX_AUTHORIZER_TTL:
            raise TemplateError(
                f"{spec_where}.Identity.ReauthorizeEvery: between 0 and {MAX_AUTHORIZER_TTL}"
            )
        if payload_type == "TOKEN":
            for key in ("Headers", "QueryStrings"):
                if key in identity:
                    raise TemplateError(f"{spec_where}.Identity.{key}: only for REQUEST")
            headers: tuple[str, ...] = (str(identity.get("Header", "Authorization")),)
            queries: tuple[str, ...] = ()
        else:
            for key in ("Header", "ValidationExpression"):
                if key in identity:
                    raise TemplateError(f"{spec_where}.Identity.{key}: only for TOKEN")
            headers = tuple(str(h) for h in identity.get("Headers") or [])
            queries = tuple(str(q) for q in identity.get("QueryStrings") or [])
            if ttl > 0 and not headers and not queries:
                raise TemplateError(
                    f"{spec_where}.Identity: a cached REQUEST authorizer needs identity sources"
                )
        expression = identity.get("ValidationExpression")
        specs[name] = AuthorizerSpec(
            name,
            function,
            payload_type,
            headers,
            queries,
            ttl,
            None if expression is None else str(expression),
        )
    return specs


def event_route(
    stack: Stack,
    function: Resource,
    event: Mapping[str, Any],
    props: Mapping[str, Any],
    authorizers: Mapping[str, Mapping[str, AuthorizerSpec]],
    where: str,
) -> RouteSpec:
    """A function's ``Api`` event (``props`` resolved) as a Lambda proxy route on its API
    (``ServerlessRestApi`` when it names none), with the authorizer it or the API picks."""
    raw_api = (event.get("Properties") or {}).get("RestApiId")
    if raw_api is None:
        api_logical = "ServerlessRestApi"
    elif isinstance(raw_api, dict) and raw_api.get("Ref") in stack.apis:
        api_logical = raw_api["Ref"]
    else:
        raise TemplateError(
            f"{where}.Properties.RestApiId: must be !Ref of an AWS::Serverless::Api here"
        )
    api = stack.apis[api_logical]
    method = str(props["Method"]).upper()
    path = str(props["Path"])
    if not path.startswith("/"):
        raise TemplateError(f"{where}.Properties.Path: {path!r} is not an API Gateway path")
    try:  # SAM drops empty segments: "/parks/" is "/parks"
        route = Route.parse(f"{method} /{'/'.join(s for s in path.split('/') if s)}")
    except ConfigurationError as error:  # the one grammar: methods, segments, names
        raise TemplateError(
            f"{where}.Properties.Path: {path!r} with Method {props['Method']!r} is not an "
            f"API Gateway route: {error}"
        ) from None
    api_authorizers = authorizers.get(api_logical, {})
    api_resource = stack.template.resources[api_logical]
    default = (api_resource.properties.get("Auth") or {}).get("DefaultAuthorizer")
    chosen = (props.get("Auth") or {}).get("Authorizer", default)
    if chosen is not None and chosen != "NONE" and chosen not in api_authorizers:
        raise TemplateError(f"{where}.Properties.Auth.Authorizer: no authorizer {chosen!r}")
    authorizer = None if chosen in (None, "NONE") else api_authorizers[chosen]
    return RouteSpec(api, route, function.logical_id, authorizer, where)


def check_routes(routes: list[RouteSpec]) -> None:
    """Every route is served on one port, so no two may claim the same request."""
    seen: dict[tuple[str, tuple[str, ...]], RouteSpec] = {}
    for route in routes:
        key = (route.method, route.route.shape)
        if key in seen:
            raise TemplateError(
                f"{route.where}: {route.method} {route.path} is already served by {seen[key].where}"
            )
        seen[key] = route


def definition_routes(
    resolver: Resolver, stack: Stack, api: Resource, authorizers: dict[str, AuthorizerSpec]
) -> list[RouteSpec]:
    """The routes of the API's OpenAPI document (template/openapi.py); its security
    schemes join the API's ``Auth.Authorizers``, and ``DefaultAuthorizer`` applies to
    operations the document secures no other way, as SAM adds it to each method."""
    where = f"{api.where}.Properties.DefinitionBody"
    body = resolver.resolve(api.properties["DefinitionBody"], where)
    for name, found in definition_authorizers(body, where).items():
        function = function_by_arn(stack, found.function_arn, f"{where}: authorizer {name}")
        authorizers[name] = AuthorizerSpec(
            name,
            function,
            found.payload_type,
            found.headers,
            found.query_strings,
            found.ttl,
            found.validation_expression,
        )
    default = (api.properties.get("Auth") or {}).get("DefaultAuthorizer")
    routes: list[RouteSpec] = []
    for operation in operations(body, where):
        chosen = default if operation.security == "" else operation.security
        if chosen not in (None, "NONE") and chosen not in authorizers:
            raise TemplateError(f"{operation.where}.security: no authorizer {chosen!r}")
        function = ""
        if operation.integration.type == "aws_proxy":
            function = function_by_arn(
                stack,
                operation.integration.target,
                f"{operation.where}.x-amazon-apigateway-integration.uri",
            )
        try:
            route = Route.parse(f"{operation.method} {operation.path}")
        except ConfigurationError as error:
            raise TemplateError(f"{operation.where}: not an API Gateway route: {error}") from None
        routes.append(
            RouteSpec(
                stack.apis[api.logical_id],
                route,
                function,
                None if chosen in (None, "NONE") else authorizers[chosen],
                operation.where,
                operation.integration,
                operation.validation,
            )
        )
    return routes
