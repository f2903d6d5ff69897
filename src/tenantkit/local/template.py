"""Read a SAM template: CloudFormation YAML tags, Parameters, Globals and intrinsics.

Only the constructs ``tenantkit local`` can reproduce are accepted. Everything else
fails at load time with a :class:`TemplateError` naming the construct and where it is
(``Resources.Fn.Properties.Layers``), never silently ignored. Properties that change
nothing on a single machine (``Tracing``, ``Policies``, ``MemorySize``...) are accepted
and listed in ``docs/local.md``.

Intrinsics are resolved lazily by :class:`Resolver`, because ``Ref`` and ``Fn::GetAtt``
of tables, queues, topics and secrets take their values from the backend that created
them (a queue URL, a secret ARN with its random suffix).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tenantkit.errors import ConfigurationError

__all__ = [
    "NO_VALUE",
    "Template",
    "TemplateError",
    "load_template",
    "parse_template",
]

SERVERLESS_TRANSFORM = "AWS::Serverless-2016-10-31"
IMPLICIT_API = "ServerlessRestApi"
IMPLICIT_STAGE = "Prod"


class TemplateError(ConfigurationError):
    """The template uses something ``tenantkit local`` does not support, or is invalid."""


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Any = _NoValue()
"""What ``Ref: AWS::NoValue`` resolves to; the enclosing key or list item is dropped."""

_TOP_LEVEL = {
    "AWSTemplateFormatVersion",
    "Transform",
    "Description",
    "Metadata",
    "Parameters",
    "Globals",
    "Resources",
    "Outputs",  # never evaluated: nothing local reads them
}
_RESOURCE_KEYS = {
    "Type",
    "Properties",
    "DependsOn",
    "Metadata",
    "DeletionPolicy",
    "UpdateReplacePolicy",
}

# type -> (properties it uses, properties accepted with no local effect)
_PROPERTIES: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "AWS::Serverless::Function": (
        frozenset(
            {"Handler", "Runtime", "CodeUri", "Environment", "Events", "FunctionName"}
            | {"Timeout", "MemorySize"}
        ),
        frozenset(
            {
                "Architectures",
                "AutoPublishAlias",
                "Description",
                "EphemeralStorage",
                "LoggingConfig",
                "Policies",
                "ReservedConcurrentExecutions",
                "Role",
                "Tags",
                "Tracing",
            }
        ),
    ),
    "AWS::Serverless::Api": (
        frozenset({"StageName", "Auth", "Variables"}),
        frozenset(
            {
                "AccessLogSetting",
                "CacheClusterEnabled",
                "CacheClusterSize",
                "Description",
                "EndpointConfiguration",
                "MethodSettings",
                "Name",
                "OpenApiVersion",
                "Tags",
                "TracingEnabled",
            }
        ),
    ),
    "AWS::DynamoDB::Table": (
        frozenset(
            {
                "AttributeDefinitions",
                "BillingMode",
                "GlobalSecondaryIndexes",
                "KeySchema",
                "LocalSecondaryIndexes",
                "ProvisionedThroughput",
                "TableName",
                "Tags",
            }
        ),
        frozenset(
            {
                "ContributorInsightsSpecification",
                "DeletionProtectionEnabled",
                "PointInTimeRecoverySpecification",
                "SSESpecification",
                "TableClass",
                "TimeToLiveSpecification",
            }
        ),
    ),
    "AWS::SQS::Queue": (
        frozenset(
            {
                "ContentBasedDeduplication",
                "DelaySeconds",
                "FifoQueue",
                "MaximumMessageSize",
                "MessageRetentionPeriod",
                "QueueName",
                "ReceiveMessageWaitTimeSeconds",
                "RedrivePolicy",
                "Tags",
                "VisibilityTimeout",
            }
        ),
        frozenset({"KmsDataKeyReusePeriodSeconds", "KmsMasterKeyId", "SqsManagedSseEnabled"}),
    ),
    "AWS::SNS::Topic": (
        frozenset({"ContentBasedDeduplication", "DisplayName", "FifoTopic", "TopicName", "Tags"}),
        frozenset({"KmsMasterKeyId"}),
    ),
    "AWS::SecretsManager::Secret": (
        frozenset({"Description", "GenerateSecretString", "Name", "SecretString", "Tags"}),
        frozenset({"KmsKeyId"}),
    ),
}

# type -> attributes Fn::GetAtt may read
GETATT: dict[str, frozenset[str]] = {
    "AWS::Serverless::Function": frozenset({"Arn"}),
    "AWS::DynamoDB::Table": frozenset({"Arn"}),
    "AWS::SQS::Queue": frozenset({"Arn", "QueueName", "QueueUrl"}),
    "AWS::SNS::Topic": frozenset({"TopicArn", "TopicName"}),
    "AWS::SecretsManager::Secret": frozenset({"Id"}),
}
BACKEND_TYPES = (
    "AWS::DynamoDB::Table",
    "AWS::SQS::Queue",
    "AWS::SNS::Topic",
    "AWS::SecretsManager::Secret",
)
_GLOBALS = {"Function": "AWS::Serverless::Function", "Api": "AWS::Serverless::Api"}
_PSEUDO = {
    "AWS::AccountId",
    "AWS::NoValue",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackName",
    "AWS::StackId",
    "AWS::URLSuffix",
}
_PARAMETER_KEYS = {
    "Type",
    "Default",
    "Description",
    "NoEcho",
    "AllowedValues",
    "AllowedPattern",
    "MinLength",
    "MaxLength",
    "MinValue",
    "MaxValue",
    "ConstraintDescription",
}
_PARAMETER_TYPES = {"String", "Number", "CommaDelimitedList", "List<Number>"}
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_INTRINSICS = {"Ref", "Fn::GetAtt", "Fn::Sub", "Fn::Join"}


# ---------------------------------------------------------------------------- YAML


def _yaml_loader() -> type[Any]:
    """A SafeLoader that understands the CloudFormation short tags and keeps dates as text."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    # "2010-09-09" stays a string, as CloudFormation reads it.
    Loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def construct(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
        value: Any
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        if suffix == "Ref" or suffix == "Condition":
            return {suffix: value}
        if suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
        return {f"Fn::{suffix}": value}

    Loader.add_multi_constructor("!", construct)
    return Loader


def load_template(path: Path) -> dict[str, Any]:
    """Parse a YAML or JSON template into plain data, short tags turned into long form."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise TemplateError(f"cannot read template {path}: {error.strerror}") from None
    try:
        # A SafeLoader subclass that only adds the CloudFormation tags: no object construction.
        data = yaml.load(text, Loader=_yaml_loader())  # noqa: S506  # nosec B506
    except yaml.YAMLError as error:
        raise TemplateError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise TemplateError(f"{path}: a template is a mapping with a Resources section")
    return data


def line_numbers(text: str) -> dict[str, int]:
    """Line of every key and list item, by its dotted path (``Resources.Fn.Properties``)."""
    import yaml

    lines: dict[str, int] = {}

    def walk(node: yaml.Node, path: str) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode):
                    child = f"{path}.{key_node.value}" if path else str(key_node.value)
                    lines[child] = key_node.start_mark.line + 1
                    walk(value_node, child)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                child = f"{path}[{index}]"
                lines[child] = item.start_mark.line + 1
                walk(item, child)

    try:
        root = yaml.compose(text, Loader=_yaml_loader())
    except yaml.YAMLError:
        return lines
    if root is not None:
        walk(root, "")
    return lines


def locate(message: str, path: Path, lines: Mapping[str, int]) -> str:
    """Prefix ``message`` (``Resources.Fn.Properties.X: ...``) with ``file:line``.

    Properties that come from Globals have no line of their own; the nearest enclosing
    key that has one is used.
    """
    where = message.split(": ", 1)[0]
    while where:
        if where in lines:
            return f"{path}:{lines[where]}: {message}"
        where = where[: max(where.rfind("."), where.rfind("["), 0)]
    return message


# ---------------------------------------------------------------------------- model


@dataclass
class Resource:
    logical_id: str
    type: str
    properties: dict[str, Any]
    depends_on: tuple[str, ...] = ()

    @property
    def where(self) -> str:
        return f"Resources.{self.logical_id}"


@dataclass
class Attributes:
    """What ``Ref`` and ``Fn::GetAtt`` of one resource resolve to."""

    ref: Any
    atts: dict[str, Any] = field(default_factory=dict)


@dataclass
class Template:
    """A validated template: parameter values, Globals merged, resources by logical id."""

    path: Path
    parameters: dict[str, Any]
    resources: dict[str, Resource]
    lines: dict[str, int] = field(default_factory=dict)

    def locate(self, error: Exception) -> str:
        """The error's message with the template file and line it is about."""
        message = str(error)
        if message.startswith(str(self.path)):
            return message
        return locate(message, self.path, self.lines)

    @property
    def directory(self) -> Path:
        return self.path.parent

    def of_type(self, type_name: str) -> list[Resource]:
        return [r for r in self.resources.values() if r.type == type_name]

    def backend_order(self) -> list[Resource]:
        """Tables, queues, topics and secrets, each after the resources it references."""
        ordered: list[Resource] = []
        state: dict[str, str] = {}

        def visit(resource: Resource, chain: tuple[str, ...]) -> None:
            if state.get(resource.logical_id) == "done":
                return
            if state.get(resource.logical_id) == "visiting":
                cycle = " -> ".join((*chain, resource.logical_id))
                raise TemplateError(f"{resource.where}: circular reference {cycle}")
            state[resource.logical_id] = "visiting"
            for dep in sorted(references(resource.properties) | set(resource.depends_on)):
                target = self.resources.get(dep)
                if target is not None and target.type in BACKEND_TYPES:
                    visit(target, (*chain, resource.logical_id))
            state[resource.logical_id] = "done"
            ordered.append(resource)

        for resource in self.resources.values():
            if resource.type in BACKEND_TYPES:
                visit(resource, ())
        return ordered


def references(value: Any) -> set[str]:
    """Logical ids that ``value`` names through Ref, Fn::GetAtt or Fn::Sub."""
    found: set[str] = set()
    if isinstance(value, dict):
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref" and isinstance(arg, str):
                found.add(arg)
            elif key == "Fn::GetAtt" and isinstance(arg, list) and arg:
                found.add(str(arg[0]))
            elif key == "Fn::Sub":
                text = arg[0] if isinstance(arg, list) and arg else arg
                if isinstance(text, str):
                    for name in _SUB_VARIABLE.findall(text):
                        if not name.startswith("!"):
                            found.add(name.split(".", 1)[0])
        for item in value.values():
            found |= references(item)
    elif isinstance(value, list):
        for item in value:
            found |= references(item)
    return found


def _merge_globals(global_value: Any, local_value: Any) -> Any:
    """SAM's rule: maps merge key by key, lists append, anything else the resource wins."""
    if isinstance(global_value, dict) and isinstance(local_value, dict):
        merged = dict(global_value)
        for key, value in local_value.items():
            merged[key] = _merge_globals(global_value[key], value) if key in merged else value
        return merged
    if isinstance(global_value, list) and isinstance(local_value, list):
        return [*global_value, *local_value]
    return local_value


def _parameter_values(declared: Mapping[str, Any], overrides: Mapping[str, str]) -> dict[str, Any]:
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        raise TemplateError(
            f"--parameter-overrides names {', '.join(unknown)}, which the template's "
            f"Parameters section does not declare"
        )
    values: dict[str, Any] = {}
    for name, spec in declared.items():
        where = f"Parameters.{name}"
        if not isinstance(spec, dict):
            raise TemplateError(f"{where}: a parameter is a mapping with a Type")
        for key in spec:
            if key not in _PARAMETER_KEYS:
                raise TemplateError(f"{where}.{key}: unsupported parameter property")
        kind = spec.get("Type")
        if kind not in _PARAMETER_TYPES:
            raise TemplateError(
                f"{where}.Type: unsupported parameter type {kind!r} "
                f"(supported: {', '.join(sorted(_PARAMETER_TYPES))})"
            )
        if name in overrides:
            raw = overrides[name]
        elif "Default" in spec:
            raw = spec["Default"]
            raw = str(raw).lower() if isinstance(raw, bool) else str(raw)
        else:
            raise TemplateError(f"{where}: no Default; pass --parameter-overrides {name}=VALUE")
        _check_parameter(where, spec, raw)
        values[name] = (
            [part.strip() for part in raw.split(",")] if kind.startswith(("Comma", "List")) else raw
        )
    return values


def _check_parameter(where: str, spec: Mapping[str, Any], raw: str) -> None:
    allowed = spec.get("AllowedValues")
    if allowed is not None and raw not in [
        str(v).lower() if isinstance(v, bool) else str(v) for v in allowed
    ]:
        raise TemplateError(f"{where}: value is not one of AllowedValues {allowed}")
    pattern = spec.get("AllowedPattern")
    if pattern is not None and re.fullmatch(str(pattern), raw) is None:
        raise TemplateError(f"{where}: value does not match AllowedPattern {pattern}")
    if "MinLength" in spec and len(raw) < int(spec["MinLength"]):
        raise TemplateError(f"{where}: value is shorter than MinLength {spec['MinLength']}")
    if "MaxLength" in spec and len(raw) > int(spec["MaxLength"]):
        raise TemplateError(f"{where}: value is longer than MaxLength {spec['MaxLength']}")
    if spec.get("Type") == "Number":
        try:
            number = float(raw)
        except ValueError:
            raise TemplateError(f"{where}: Number parameter needs a number") from None
        if "MinValue" in spec and number < float(spec["MinValue"]):
            raise TemplateError(f"{where}: value is below MinValue {spec['MinValue']}")
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            raise TemplateError(f"{where}: value is above MaxValue {spec['MaxValue']}")


def parse_template(path: Path, overrides: Mapping[str, str] | None = None) -> Template:
    """Load and validate ``path``; fails on the first unsupported construct.

    The :class:`TemplateError` message starts with ``file:line:`` where it can.
    """
    data = load_template(path)
    template = Template(path=path, parameters={}, resources={})
    template.lines = line_numbers(path.read_text(encoding="utf-8"))
    try:
        _parse(template, data, overrides or {})
    except TemplateError as error:
        raise TemplateError(template.locate(error)) from None
    return template


def _parse(template: Template, data: dict[str, Any], overrides: Mapping[str, str]) -> None:
    path = template.path
    for key in data:
        if key not in _TOP_LEVEL:
            raise TemplateError(f"{path}: top-level section {key!r} is not supported")
    transform = data.get("Transform")
    transforms = transform if isinstance(transform, list) else [transform]
    if transform is not None and transforms != [SERVERLESS_TRANSFORM]:
        raise TemplateError(f"Transform: only {SERVERLESS_TRANSFORM} is supported")
    declared = data.get("Parameters") or {}
    if not isinstance(declared, dict):
        raise TemplateError("Parameters: must be a mapping")
    template.parameters = _parameter_values(declared, overrides)

    globals_section = data.get("Globals") or {}
    if not isinstance(globals_section, dict):
        raise TemplateError("Globals: must be a mapping")
    for key, value in globals_section.items():
        if key not in _GLOBALS:
            raise TemplateError(f"Globals.{key}: not supported (supported: Function, Api)")
        if not isinstance(value, dict):
            raise TemplateError(f"Globals.{key}: must be a mapping")

    raw_resources = data.get("Resources")
    if not isinstance(raw_resources, dict) or not raw_resources:
        raise TemplateError(f"{path}: the Resources section is missing or empty")
    resources: dict[str, Resource] = {}
    for logical_id, raw in raw_resources.items():
        where = f"Resources.{logical_id}"
        if not isinstance(raw, dict) or not isinstance(raw.get("Type"), str):
            raise TemplateError(f"{where}: a resource is a mapping with a Type")
        for key in raw:
            if key not in _RESOURCE_KEYS:
                raise TemplateError(f"{where}.{key}: resource attribute not supported")
        kind = raw["Type"]
        if kind not in _PROPERTIES:
            raise TemplateError(f"{where}: resource type {kind} is not supported")
        properties = raw.get("Properties") or {}
        if not isinstance(properties, dict):
            raise TemplateError(f"{where}.Properties: must be a mapping")
        for section, section_type in _GLOBALS.items():
            if kind == section_type and section in globals_section:
                properties = _merge_globals(globals_section[section], properties)
        used, inert = _PROPERTIES[kind]
        for key in properties:
            if key not in used and key not in inert:
                raise TemplateError(f"{where}.Properties.{key}: property not supported on {kind}")
        depends = raw.get("DependsOn", [])
        for dependency in depends if isinstance(depends, list) else [depends]:
            if dependency not in raw_resources:
                raise TemplateError(f"{where}.DependsOn: no resource named {dependency!r}")
        resources[logical_id] = Resource(
            logical_id,
            kind,
            properties,
            tuple(depends if isinstance(depends, list) else [depends]),
        )
    template.resources = resources
    _add_implicit_api(template, globals_section.get("Api", {}))
    for resource in template.resources.values():
        check_intrinsics(template, resource.properties, f"{resource.where}.Properties")
        if resource.type == "AWS::Serverless::Function":
            _check_function(resource)
        elif resource.type == "AWS::Serverless::Api":
            _check_api(resource)


_EVENT_PROPERTIES: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "Api": (frozenset({"Path", "Method", "RestApiId", "Auth"}), frozenset()),
    "SQS": (
        frozenset({"Queue", "BatchSize", "Enabled", "FunctionResponseTypes"}),
        frozenset({"MaximumBatchingWindowInSeconds", "ScalingConfig"}),
    ),
}
_AUTHORIZER_KEYS = {"FunctionArn", "FunctionPayloadType", "Identity", "FunctionInvokeRole"}
_IDENTITY_KEYS = {"Headers", "QueryStrings", "ReauthorizeEvery", "Header", "ValidationExpression"}


def _keys(value: Any, allowed: set[str] | frozenset[str], where: str, what: str) -> None:
    if not isinstance(value, dict):
        raise TemplateError(f"{where}: must be a mapping")
    for key in value:
        if key not in allowed:
            raise TemplateError(f"{where}.{key}: {what} not supported")


def _check_function(resource: Resource) -> None:
    props = resource.properties
    where = f"{resource.where}.Properties"
    for required in ("Handler", "Runtime", "CodeUri"):
        if required not in props:
            raise TemplateError(f"{where}: {required} is required (here or in Globals.Function)")
    runtime = props["Runtime"]
    if not (isinstance(runtime, str) and runtime.startswith("python3")):
        raise TemplateError(f"{where}.Runtime: only python3.x runtimes run locally")
    if not isinstance(props["CodeUri"], str):
        raise TemplateError(f"{where}.CodeUri: must be a local directory path")
    events = props.get("Events") or {}
    if not isinstance(events, dict):
        raise TemplateError(f"{where}.Events: must be a mapping")
    for name, event in events.items():
        event_where = f"{where}.Events.{name}"
        _keys(event, {"Type", "Properties"}, event_where, "event attribute")
        kind = event.get("Type")
        if kind not in _EVENT_PROPERTIES:
            raise TemplateError(f"{event_where}.Type: event type {kind} is not supported")
        used, inert = _EVENT_PROPERTIES[kind]
        event_props = event.get("Properties") or {}
        _keys(event_props, used | inert, f"{event_where}.Properties", f"{kind} event property")
        if kind == "Api":
            for required in ("Path", "Method"):
                if not isinstance(event_props.get(required), str):
                    raise TemplateError(f"{event_where}.Properties.{required}: required string")
            if "Auth" in event_props:
                _keys(
                    event_props["Auth"],
                    {"Authorizer"},
                    f"{event_where}.Properties.Auth",
                    "Api event Auth property",
                )
        elif "Queue" not in event_props:
            raise TemplateError(f"{event_where}.Properties.Queue: required")


def _check_api(resource: Resource) -> None:
    where = f"{resource.where}.Properties"
    if "StageName" not in resource.properties:
        raise TemplateError(f"{where}.StageName: required")
    auth = resource.properties.get("Auth")
    if auth is None:
        return
    _keys(
        auth,
        {"DefaultAuthorizer", "Authorizers", "AddDefaultAuthorizerToCorsPreflight"},
        f"{where}.Auth",
        "Api Auth property",
    )
    authorizers = auth.get("Authorizers") or {}
    if not isinstance(authorizers, dict):
        raise TemplateError(f"{where}.Auth.Authorizers: must be a mapping")
    for name, spec in authorizers.items():
        spec_where = f"{where}.Auth.Authorizers.{name}"
        _keys(spec, _AUTHORIZER_KEYS, spec_where, "authorizer property (only Lambda authorizers)")
        if "FunctionArn" not in spec:
            raise TemplateError(f"{spec_where}.FunctionArn: required (only Lambda authorizers)")
        if spec.get("FunctionPayloadType", "TOKEN") not in ("TOKEN", "REQUEST"):
            raise TemplateError(f"{spec_where}.FunctionPayloadType: TOKEN or REQUEST")
        _keys(
            spec.get("Identity") or {}, _IDENTITY_KEYS, f"{spec_where}.Identity", "identity source"
        )
    default = auth.get("DefaultAuthorizer")
    if default is not None and default != "NONE" and default not in authorizers:
        raise TemplateError(f"{where}.Auth.DefaultAuthorizer: no authorizer named {default!r}")


def _add_implicit_api(template: Template, api_globals: dict[str, Any]) -> None:
    """SAM creates ``ServerlessRestApi`` for Api events that name no RestApiId."""
    for function in template.of_type("AWS::Serverless::Function"):
        events = function.properties.get("Events") or {}
        if not isinstance(events, dict):
            continue
        for event in events.values():
            if (
                isinstance(event, dict)
                and event.get("Type") == "Api"
                and "RestApiId" not in (event.get("Properties") or {})
            ):
                if IMPLICIT_API not in template.resources:
                    props = _merge_globals(api_globals, {"StageName": IMPLICIT_STAGE})
                    template.resources[IMPLICIT_API] = Resource(
                        IMPLICIT_API, "AWS::Serverless::Api", props
                    )
                return


def check_intrinsics(template: Template, value: Any, where: str) -> None:
    """Fail on intrinsics other than Ref/GetAtt/Sub/Join, and on dangling references."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            check_intrinsics(template, item, f"{where}[{index}]")
        return
    if not isinstance(value, dict):
        return
    if len(value) == 1:
        ((key, arg),) = value.items()
        if (key.startswith("Fn::") and key not in _INTRINSICS) or key == "Condition":
            raise TemplateError(f"{where}: intrinsic function {key} is not supported")
        if key == "Ref":
            if not isinstance(arg, str) or (
                arg not in template.parameters
                and arg not in template.resources
                and arg not in _PSEUDO
            ):
                raise TemplateError(f"{where}: Ref to unknown parameter or resource {arg!r}")
            return
        if key == "Fn::GetAtt":
            _check_getatt(template, arg, where)
            return
        if key == "Fn::Sub":
            text, variables = _sub_parts(arg, where)
            check_intrinsics(template, variables, f"{where}.Fn::Sub")
            for name in _SUB_VARIABLE.findall(text):
                if name.startswith("!") or name in variables:
                    continue
                if "." in name and name.split(".", 1)[0] in template.resources:
                    _check_getatt(template, name.split(".", 1), where)
                elif (
                    name not in template.parameters
                    and name not in template.resources
                    and (name not in _PSEUDO)
                ):
                    raise TemplateError(f"{where}: Fn::Sub names unknown variable ${{{name}}}")
            return
        if key == "Fn::Join" and not (
            isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str)
        ):
            raise TemplateError(f"{where}: Fn::Join takes [delimiter, [values]]")
    for key, item in value.items():
        check_intrinsics(template, item, f"{where}.{key}")


def _check_getatt(template: Template, arg: Any, where: str) -> None:
    if not (isinstance(arg, list) and len(arg) == 2 and all(isinstance(a, str) for a in arg)):
        raise TemplateError(f"{where}: Fn::GetAtt takes [LogicalId, Attribute]")
    target = template.resources.get(arg[0])
    if target is None:
        raise TemplateError(f"{where}: Fn::GetAtt of unknown resource {arg[0]!r}")
    if arg[1] not in GETATT.get(target.type, frozenset()):
        raise TemplateError(
            f"{where}: Fn::GetAtt {arg[0]}.{arg[1]} is not supported for {target.type}"
        )


def _sub_parts(arg: Any, where: str) -> tuple[str, dict[str, Any]]:
    if isinstance(arg, str):
        return arg, {}
    if (
        isinstance(arg, list)
        and len(arg) == 2
        and isinstance(arg[0], str)
        and isinstance(arg[1], dict)
    ):
        return arg[0], arg[1]
    raise TemplateError(f"{where}: Fn::Sub takes a string or [string, {{variables}}]")


# ---------------------------------------------------------------------------- resolution


class Resolver:
    """Resolves intrinsics against parameters, pseudo parameters and resource attributes.

    ``attributes`` fills up as the backend creates resources; resolving a reference to a
    resource that does not exist yet is a bug in the creation order, reported as such.
    """

    def __init__(
        self,
        template: Template,
        *,
        region: str,
        account_id: str,
        stack_name: str,
        attributes: Callable[[str], Attributes | None],
    ) -> None:
        self._template = template
        self._attributes = attributes
        self.pseudo: dict[str, Any] = {
            "AWS::AccountId": account_id,
            "AWS::NoValue": NO_VALUE,
            "AWS::Partition": "aws",
            "AWS::Region": region,
            "AWS::StackName": stack_name,
            "AWS::StackId": (
                f"arn:aws:cloudformation:{region}:{account_id}:stack/{stack_name}/local"
            ),
            "AWS::URLSuffix": "amazonaws.com",
        }

    def resolve(self, value: Any, where: str) -> Any:
        if isinstance(value, list):
            items = [self.resolve(v, f"{where}[{i}]") for i, v in enumerate(value)]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self._ref(arg, where)
            if key == "Fn::GetAtt":
                return self._getatt(arg[0], arg[1], where)
            if key == "Fn::Sub":
                return self._sub(arg, where)
            if key == "Fn::Join":
                parts = self.resolve(arg[1], f"{where}.Fn::Join")
                if not isinstance(parts, list):
                    raise TemplateError(f"{where}: Fn::Join needs a list of values")
                return str(arg[0]).join(_text(p, where) for p in parts)
        resolved: dict[str, Any] = {}
        for key, item in value.items():
            result = self.resolve(item, f"{where}.{key}")
            if result is not NO_VALUE:
                resolved[key] = result
        return resolved

    def _ref(self, name: str, where: str) -> Any:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self._template.parameters:
            return self._template.parameters[name]
        return self._resource(name, where).ref

    def _getatt(self, name: str, attribute: str, where: str) -> Any:
        return self._resource(name, where).atts[attribute]

    def _resource(self, name: str, where: str) -> Attributes:
        attributes = self._attributes(name)
        if attributes is None:
            raise TemplateError(f"{where}: {name} is referenced before it exists")
        return attributes

    def _sub(self, arg: Any, where: str) -> str:
        text, variables = _sub_parts(arg, where)
        values = {k: self.resolve(v, f"{where}.Fn::Sub.{k}") for k, v in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in values:
                return _text(values[name], where)
            if "." in name and name.split(".", 1)[0] in self._template.resources:
                logical_id, attribute = name.split(".", 1)
                return _text(self._getatt(logical_id, attribute, where), where)
            return _text(self._ref(name, where), where)

        return _SUB_VARIABLE.sub(replace, text)


def _text(value: Any, where: str) -> str:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)
    raise TemplateError(f"{where}: cannot use {type(value).__name__} value inside a string")
