"""Turn a parsed template into a running local stack's description.

:func:`build_stack` creates the resources in dependency order, whatever order the
template declares them in (a queue's redrive policy names its dead-letter queue's ARN,
an API's integration the role declared after it: :mod:`tenantkit.local.template.creation`),
then resolves the functions, APIs, routes and SQS event sources with the values the
backend returned. Routes are
parsed by :mod:`tenantkit._shared.apigw`, the grammar the role map compiles policies
from, so a path the gateway serves is one a role map can name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tenantkit._shared.apigw import Route
from tenantkit.errors import ConfigurationError
from tenantkit.local.backend import Backend
from tenantkit.local.events import RelayTarget, create_event_buses, create_rules
from tenantkit.local.functions import PER_TENANT, FunctionSpec
from tenantkit.local.stepfunctions import (
    STATE_MACHINE_TYPES,
    create_state_machines,
    enable_execution,
)
from tenantkit.local.template import (
    BACKEND_TYPES,
    Attributes,
    OnDemand,
    Resolver,
    Resource,
    Template,
    TemplateError,
)
from tenantkit.local.template.openapi import Integration, Validation, operations
from tenantkit.local.template.security_schemes import definition_authorizers

__all__ = [
    "ApiSpec",
    "AuthorizerSpec",
    "RouteSpec",
    "SqsSourceSpec",
    "Stack",
    "api_id_for",
    "build_stack",
]

DEFAULT_STACK_NAME = "tenantkit-local"
DEFAULT_AUTHORIZER_TTL = 300
MAX_AUTHORIZER_TTL = 3600
_SQS_RESPONSE_TYPES = {"ReportBatchItemFailures"}
# type -> (the property that names it, its Arn); its Ref is the name
_NAMED = {
    "AWS::Serverless::Function": (
        "FunctionName",
        "arn:aws:lambda:{region}:{account}:function:{name}",
    ),
    "AWS::IAM::Role": ("RoleName", "arn:aws:iam::{account}:role{path}{name}"),
    "AWS::Logs::LogGroup": ("LogGroupName", "arn:aws:logs:{region}:{account}:log-group:{name}:*"),
}
# created together, by local/stepfunctions.py and local/events.py
_ORCHESTRATION_TYPES = (*STATE_MACHINE_TYPES, "AWS::Events::EventBus", "AWS::Events::Rule")


def api_id_for(logical_id: str) -> str:
    """The fixed local API id of an ``AWS::Serverless::Api``: its logical id, lowercased."""
    return re.sub(r"[^a-z0-9]", "", logical_id.lower())


@dataclass(frozen=True)
class AuthorizerSpec:
    name: str
    function: str
    payload_type: str  # "REQUEST" or "TOKEN"
    headers: tuple[str, ...]
    query_strings: tuple[str, ...]
    ttl: int
    validation_expression: str | None = None


@dataclass(frozen=True)
class ApiSpec:
    logical_id: str
    api_id: str
    stage: str
    variables: Mapping[str, str] | None = None


@dataclass(frozen=True)
class RouteSpec:
    api: ApiSpec
    route: Route
    function: str  # the Lambda proxy's function (logical id); "" for other integrations
    authorizer: AuthorizerSpec | None
    where: str
    integration: Integration | None = None  # from a DefinitionBody; None: an Api event's
    validation: Validation | None = None

    @property
    def method(self) -> str:
        return self.route.method

    @property
    def path(self) -> str:
        return self.route.path


@dataclass(frozen=True)
class SqsSourceSpec:
    function: str
    queue: str
    queue_url: str
    queue_arn: str
    batch_size: int
    report_failures: bool
    enabled: bool
    where: str


@dataclass
class Stack:
    """Everything the gateway and the pollers need, resolved."""

    template: Template
    region: str
    account_id: str
    attributes: dict[str, Attributes] = field(default_factory=dict)
    functions: dict[str, FunctionSpec] = field(default_factory=dict)
    apis: dict[str, ApiSpec] = field(default_factory=dict)
    routes: list[RouteSpec] = field(default_factory=list)
    sqs_sources: list[SqsSourceSpec] = field(default_factory=list)
    event_relays: list[RelayTarget] = field(default_factory=list)

    def ref_values(self) -> dict[str, Any]:
        return {logical_id: attrs.ref for logical_id, attrs in self.attributes.items()}


def build_stack(
    template: Template, backend: Backend, *, stack_name: str = DEFAULT_STACK_NAME
) -> Stack:
    """Create the resources, each after what it references, and resolve the rest."""
    stack = Stack(template, backend.region, backend.account_id)
    creator = _Creator(template, backend, stack, stack_name)
    creator.resources.create_all()
    resolver = creator.resolver
    for api in template.of_type("AWS::Serverless::Api"):
        stack.apis[api.logical_id] = ApiSpec(
            api.logical_id,
            str(stack.attributes[api.logical_id].ref),
            str(resolver.resolve(api.properties["StageName"], f"{api.where}.StageName")),
            _strings(resolver.resolve(api.properties.get("Variables"), f"{api.where}.Variables")),
        )
    for function in template.of_type("AWS::Serverless::Function"):
        stack.functions[function.logical_id] = _function(template, resolver, stack, function)
    authorizers = {
        api.logical_id: _authorizers(resolver, stack, api)
        for api in template.of_type("AWS::Serverless::Api")
    }
    for api in template.of_type("AWS::Serverless::Api"):
        if "DefinitionBody" in api.properties:
            _definition_routes(resolver, stack, api, authorizers[api.logical_id])
    for function in template.of_type("AWS::Serverless::Function"):
        _events(resolver, stack, function, authorizers)
    _check_routes(stack.routes)
    return stack


class _Creator:
    """Gives each resource its local value, the first time it is needed: functions, IAM
    roles and log groups an ARN of their name (roles and log groups have no other local
    effect), APIs their id, tables, queues, topics and secrets what the backend answers,
    and state machines, event buses and rules all at once (their modules order them)."""

    def __init__(self, template: Template, backend: Backend, stack: Stack, stack_name: str):
        self.template = template
        self.backend = backend
        self.stack = stack
        self.stack_name = stack_name
        self.resources = OnDemand(template, stack.attributes, self.create)
        self.resolver = Resolver(
            template,
            region=stack.region,
            account_id=stack.account_id,
            stack_name=stack_name,
            attributes=self.resources,
        )
        self._orchestrated = False

    def create(self, resource: Resource) -> None:
        stack, kind, logical_id = self.stack, resource.type, resource.logical_id
        where = f"{resource.where}.Properties"
        if kind in _NAMED:
            key, arn = _NAMED[kind]
            props = resource.properties
            default = f"{self.stack_name}-{logical_id}"
            name = str(self.resolver.resolve(props.get(key, default), f"{where}.{key}"))
            path = self.resolver.resolve(props.get("Path", "/"), f"{where}.Path")
            values = {"region": stack.region, "account": stack.account_id, "path": path}
            stack.attributes[logical_id] = Attributes(
                name, {"Arn": arn.format(name=name, **values)}
            )
        elif kind == "AWS::Serverless::Api":
            api_id = api_id_for(logical_id)
            clash = [
                other.logical_id
                for other in self.template.of_type(kind)
                if other is not resource and api_id_for(other.logical_id) == api_id
            ]
            if clash:
                raise TemplateError(
                    f"{resource.where}: its local API id {api_id} clashes with {clash[0]}"
                )
            stack.attributes[logical_id] = Attributes(api_id)
        elif kind in BACKEND_TYPES:
            props = self.resolver.resolve(resource.properties, where)
            stack.attributes[logical_id] = self.backend.create(
                resource, props, f"{self.stack_name}-{logical_id}"
            )
        elif kind in _ORCHESTRATION_TYPES and not self._orchestrated:
            self._orchestrated = True
            _orchestration(self.template, self.resolver, self.backend, stack, self.stack_name)


def _orchestration(
    template: Template, resolver: Resolver, backend: Backend, stack: Stack, stack_name: str
) -> None:
    """Event buses, then state machines (a definition may name a bus), then rules."""
    create_event_buses(
        template, resolver, backend.client("events"), stack.attributes, stack_name=stack_name
    )
    if any(template.of_type(kind) for kind in STATE_MACHINE_TYPES):
        enable_execution(backend.endpoint_url)
        create_state_machines(
            template,
            resolver,
            backend.client("stepfunctions"),
            stack.attributes,
            stack_name=stack_name,
            account_id=stack.account_id,
        )
    functions = {
        str(resolver.getatt(f.logical_id, "Arn", f.where))
        for f in template.of_type("AWS::Serverless::Function")
    }
    stack.event_relays = create_rules(
        template, resolver, backend.client, stack.attributes, functions, stack_name=stack_name
    )


def _strings(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    return {str(k): _env_text(v) for k, v in value.items()}


def _env_text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str | int | float):
        return str(value)
    raise TemplateError(f"an environment value must be a string, not {type(value).__name__}")


def _function(
    template: Template, resolver: Resolver, stack: Stack, function: Resource
) -> FunctionSpec:
    where = f"{function.where}.Properties"
    props = function.properties
    code_dir = (template.directory / str(props["CodeUri"])).resolve()
    if not code_dir.is_dir():
        raise TemplateError(f"{where}.CodeUri: {code_dir} is not a directory")
    variables = resolver.resolve(
        (props.get("Environment") or {}).get("Variables") or {}, f"{where}.Environment.Variables"
    )
    environment: dict[str, str] = {}
    for key, value in variables.items():
        try:
            environment[str(key)] = _env_text(value)
        except TemplateError as error:
            raise TemplateError(f"{where}.Environment.Variables.{key}: {error}") from None
    attrs = stack.attributes[function.logical_id]
    reserved = resolver.resolve(
        props.get("ReservedConcurrentExecutions"), f"{where}.ReservedConcurrentExecutions"
    )
    if reserved is not None and not (str(reserved).isdigit() and int(reserved) <= 1000):
        raise TemplateError(f"{where}.ReservedConcurrentExecutions: an integer, 0 to 1000")
    return FunctionSpec(
        logical_id=function.logical_id,
        name=str(attrs.ref),
        arn=str(attrs.atts["Arn"]),
        handler=str(resolver.resolve(props["Handler"], f"{where}.Handler")),
        code_dir=code_dir,
        runtime=str(props["Runtime"]),
        timeout=float(resolver.resolve(props.get("Timeout", 3), f"{where}.Timeout")),
        memory=int(resolver.resolve(props.get("MemorySize", 128), f"{where}.MemorySize")),
        environment=environment,
        tenant_isolation=_tenant_isolation(props.get("TenancyConfig"), f"{where}.TenancyConfig"),
        reserved_concurrency=None if reserved is None else int(reserved),
    )


def _tenant_isolation(config: Any, where: str) -> str | None:
    """``TenancyConfig: {TenantIsolationMode: PER_TENANT}``, its one valid form."""
    if config is None:
        return None
    if not isinstance(config, dict) or set(config) != {"TenantIsolationMode"}:
        raise TemplateError(f"{where}: must be {{TenantIsolationMode: {PER_TENANT}}}")
    if config["TenantIsolationMode"] != PER_TENANT:
        raise TemplateError(f"{where}.TenantIsolationMode: the only mode is {PER_TENANT}")
    return PER_TENANT


def _function_by_arn(stack: Stack, arn: Any, where: str) -> str:
    for logical_id, spec in stack.functions.items():
        if arn == spec.arn:
            return logical_id
    raise TemplateError(f"{where}: {arn!r} is not the ARN of a function in this template")


def _authorizers(resolver: Resolver, stack: Stack, api: Resource) -> dict[str, AuthorizerSpec]:
    where = f"{api.where}.Properties.Auth.Authorizers"
    specs: dict[str, AuthorizerSpec] = {}
    auth = api.properties.get("Auth") or {}
    for name, raw in (auth.get("Authorizers") or {}).items():
        spec_where = f"{where}.{name}"
        function = _function_by_arn(
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


def _events(
    resolver: Resolver,
    stack: Stack,
    function: Resource,
    authorizers: Mapping[str, Mapping[str, AuthorizerSpec]],
) -> None:
    for name, event in (function.properties.get("Events") or {}).items():
        where = f"{function.where}.Properties.Events.{name}"
        props = resolver.resolve(event.get("Properties") or {}, f"{where}.Properties")
        if event["Type"] == "Api":
            stack.routes.append(_route(stack, function, event, props, authorizers, where))
        else:
            stack.sqs_sources.append(_sqs_source(stack, function, props, where))


def _route(
    stack: Stack,
    function: Resource,
    event: Mapping[str, Any],
    props: Mapping[str, Any],
    authorizers: Mapping[str, Mapping[str, AuthorizerSpec]],
    where: str,
) -> RouteSpec:
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


def _check_routes(routes: list[RouteSpec]) -> None:
    """Every route is served on one port, so no two may claim the same request."""
    seen: dict[tuple[str, tuple[str, ...]], RouteSpec] = {}
    for route in routes:
        key = (route.method, route.route.shape)
        if key in seen:
            raise TemplateError(
                f"{route.where}: {route.method} {route.path} is already served by {seen[key].where}"
            )
        seen[key] = route


def _sqs_source(
    stack: Stack, function: Resource, props: Mapping[str, Any], where: str
) -> SqsSourceSpec:
    queue_arn = props["Queue"]
    queue = next(
        (
            logical_id
            for logical_id, attrs in stack.attributes.items()
            if stack.template.resources[logical_id].type == "AWS::SQS::Queue"
            and attrs.atts.get("Arn") == queue_arn
        ),
        None,
    )
    if queue is None:
        raise TemplateError(f"{where}.Properties.Queue: must be the Arn of a template queue")
    if stack.functions[function.logical_id].per_tenant:
        raise TemplateError(f"{where}: a {PER_TENANT} function takes no SQS event source")
    batch_size = int(props.get("BatchSize", 10))
    if not 1 <= batch_size <= 10000:
        raise TemplateError(f"{where}.Properties.BatchSize: between 1 and 10000")
    response_types = props.get("FunctionResponseTypes") or []
    unknown = set(response_types) - _SQS_RESPONSE_TYPES
    if unknown:
        raise TemplateError(f"{where}.Properties.FunctionResponseTypes: unknown {sorted(unknown)}")
    attrs = stack.attributes[queue]
    return SqsSourceSpec(
        function=function.logical_id,
        queue=queue,
        queue_url=str(attrs.atts["QueueUrl"]),
        queue_arn=str(queue_arn),
        batch_size=batch_size,
        report_failures="ReportBatchItemFailures" in response_types,
        enabled=props.get("Enabled", True) not in (False, "false"),
        where=where,
    )


def code_dirs(stack: Stack) -> list[Path]:
    """The distinct ``CodeUri`` directories, in template order."""
    return list(dict.fromkeys(spec.code_dir for spec in stack.functions.values()))


def _definition_routes(
    resolver: Resolver, stack: Stack, api: Resource, authorizers: dict[str, AuthorizerSpec]
) -> None:
    """The routes of the API's OpenAPI document (template/openapi.py); its security
    schemes join the API's ``Auth.Authorizers``, and ``DefaultAuthorizer`` applies to
    operations the document secures no other way, as SAM adds it to each method."""
    where = f"{api.where}.Properties.DefinitionBody"
    body = resolver.resolve(api.properties["DefinitionBody"], where)
    for name, found in definition_authorizers(body, where).items():
        function = _function_by_arn(stack, found.function_arn, f"{where}: authorizer {name}")
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
    for operation in operations(body, where):
        chosen = default if operation.security == "" else operation.security
        if chosen not in (None, "NONE") and chosen not in authorizers:
            raise TemplateError(f"{operation.where}.security: no authorizer {chosen!r}")
        function = ""
        if operation.integration.type == "aws_proxy":
            function = _function_by_arn(
                stack,
                operation.integration.target,
                f"{operation.where}.x-amazon-apigateway-integration.uri",
            )
        try:
            route = Route.parse(f"{operation.method} {operation.path}")
        except ConfigurationError as error:
            raise TemplateError(f"{operation.where}: not an API Gateway route: {error}") from None
        stack.routes.append(
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
