"""Turn a parsed template into a running local stack's description.

:func:`build_stack` creates the resources in dependency order, whatever order the
template declares them in (a queue's redrive policy names its dead-letter queue's ARN,
an API's integration the role declared after it: :mod:`tenantkit.local.template.creation`),
then resolves the functions and their SQS event sources
(:mod:`tenantkit.local.function_specs`) and the APIs, authorizers and routes
(:mod:`tenantkit.local.api_routes`) with the values the backend returned, into the
:class:`~tenantkit.local.stack_specs.Stack` the gateway and the pollers read.
"""

from __future__ import annotations

import re

from tenantkit.local.api_routes import (
    api_authorizers,
    api_spec,
    check_routes,
    definition_routes,
    event_route,
)
from tenantkit.local.backend import Backend
from tenantkit.local.events import create_event_buses, create_rules
from tenantkit.local.function_specs import function_spec, sqs_source
from tenantkit.local.stack_specs import AuthorizerSpec, Stack
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

__all__ = ["api_id_for", "build_stack"]

DEFAULT_STACK_NAME = "tenantkit-local"
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


def build_stack(
    template: Template, backend: Backend, *, stack_name: str = DEFAULT_STACK_NAME
) -> Stack:
    """Create the resources, each after what it references, and resolve the rest."""
    stack = Stack(template, backend.region, backend.account_id)
    creator = _Creator(template, backend, stack, stack_name)
    creator.resources.create_all()
    resolver = creator.resolver
    apis = template.of_type("AWS::Serverless::Api")
    for api in apis:
        stack.apis[api.logical_id] = api_spec(resolver, stack, api)
    for function in template.of_type("AWS::Serverless::Function"):
        stack.functions[function.logical_id] = function_spec(resolver, stack, function)
    authorizers = {api.logical_id: api_authorizers(resolver, stack, api) for api in apis}
    for api in apis:
        if "DefinitionBody" in api.properties:
            stack.routes += definition_routes(resolver, stack, api, authorizers[api.logical_id])
    for function in template.of_type("AWS::Serverless::Function"):
        _function_events(resolver, stack, function, authorizers)
    check_routes(stack.routes)
    return stack


def _function_events(
    resolver: Resolver,
    stack: Stack,
    function: Resource,
    authorizers: dict[str, dict[str, AuthorizerSpec]],
) -> None:
    """A function's ``Api`` events become routes, its ``SQS`` events polled sources."""
    for name, event in (function.properties.get("Events") or {}).items():
        where = f"{function.where}.Properties.Events.{name}"
        props = resolver.resolve(event.get("Properties") or {}, f"{where}.Properties")
        if event["Type"] == "Api":
            stack.routes.append(event_route(stack, function, event, props, authorizers, where))
        else:
            stack.sqs_sources.append(sqs_source(stack, function, props, where))


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
