"""Validate a loaded template: sections, Globals, resources, functions, APIs and events.

The first construct ``tenantkit local`` cannot reproduce fails with a
:class:`TemplateError` that names it and its place (``file:line:
Resources.Fn.Properties.Layers``); :mod:`~tenantkit.local.template.support` lists what
is accepted.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tenantkit.local.template.definition_body import load_definition
from tenantkit.local.template.intrinsics import check_intrinsics
from tenantkit.local.template.loader import line_numbers, load_template
from tenantkit.local.template.model import Resource, Template, TemplateError
from tenantkit.local.template.parameters import parameter_values
from tenantkit.local.template.support import (
    AUTHORIZER_KEYS,
    EVENT_PROPERTIES,
    GLOBALS,
    IDENTITY_KEYS,
    IMPLICIT_API,
    IMPLICIT_STAGE,
    PROPERTIES,
    RESOURCE_KEYS,
    SERVERLESS_TRANSFORM,
    TOP_LEVEL,
)

__all__ = ["parse_template"]


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


def _parse(template: Template, data: dict[str, Any], overrides: Mapping[str, str]) -> None:
    path = template.path
    for key in data:
        if key not in TOP_LEVEL:
            raise TemplateError(f"{path}: top-level section {key!r} is not supported")
    transform = data.get("Transform")
    transforms = transform if isinstance(transform, list) else [transform]
    if transform is not None and transforms != [SERVERLESS_TRANSFORM]:
        raise TemplateError(f"Transform: only {SERVERLESS_TRANSFORM} is supported")
    declared = data.get("Parameters") or {}
    if not isinstance(declared, dict):
        raise TemplateError("Parameters: must be a mapping")
    template.parameters = parameter_values(declared, overrides)

    globals_section = data.get("Globals") or {}
    if not isinstance(globals_section, dict):
        raise TemplateError("Globals: must be a mapping")
    for key, value in globals_section.items():
        if key not in GLOBALS:
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
            if key not in RESOURCE_KEYS:
                raise TemplateError(f"{where}.{key}: resource attribute not supported")
        kind = raw["Type"]
        if kind not in PROPERTIES:
            raise TemplateError(f"{where}: resource type {kind} is not supported")
        properties = raw.get("Properties") or {}
        if not isinstance(properties, dict):
            raise TemplateError(f"{where}.Properties: must be a mapping")
        for section, section_type in GLOBALS.items():
            if kind == section_type and section in globals_section:
                properties = _merge_globals(globals_section[section], properties)
        used, inert = PROPERTIES[kind]
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
    for api in template.of_type("AWS::Serverless::Api"):
        load_definition(api, template.directory)
    for resource in template.resources.values():
        check_intrinsics(template, resource.properties, f"{resource.where}.Properties")
        if resource.type == "AWS::Serverless::Function":
            _check_function(resource)
        elif resource.type == "AWS::Serverless::Api":
            _check_api(resource)


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
        if kind not in EVENT_PROPERTIES:
            raise TemplateError(f"{event_where}.Type: event type {kind} is not supported")
        used, inert = EVENT_PROPERTIES[kind]
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
        _keys(spec, AUTHORIZER_KEYS, spec_where, "authorizer property (only Lambda authorizers)")
        if "FunctionArn" not in spec:
            raise TemplateError(f"{spec_where}.FunctionArn: required (only Lambda authorizers)")
        if spec.get("FunctionPayloadType", "TOKEN") not in ("TOKEN", "REQUEST"):
            raise TemplateError(f"{spec_where}.FunctionPayloadType: TOKEN or REQUEST")
        _keys(
            spec.get("Identity") or {}, IDENTITY_KEYS, f"{spec_where}.Identity", "identity source"
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
