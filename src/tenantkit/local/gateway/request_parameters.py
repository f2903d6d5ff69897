"""An integration's ``requestParameters``: the integration request's headers, query
string and path parameters, mapped from the method request and the context.

Keys are ``integration.request.{header|querystring|path}.<name>``; a value is one of
``method.request.{path|querystring|header}.<name>``, ``method.request.body`` (or
``method.request.body.<JSONPath without $>``), ``context.<name>`` (``context.requestId``,
``context.authorizer.<key>``, ``context.identity.sourceIp``...), ``stageVariables.<name>``
or a static ``'value'``. A source with no value maps nothing, as in API Gateway.

This is how a ``PER_TENANT`` function learns its tenant: ``X-Amz-Tenant-Id`` mapped from
``context.authorizer.tenantId`` (never from anything the caller sends).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from tenantkit.local.gateway.context import IntegrationRequest
from tenantkit.local.gateway.mapping import json_path

__all__ = ["check_request_parameters", "map_request_parameters", "source_value"]

_TARGET = re.compile(r"integration\.request\.(header|querystring|path)\.(.+)")
_SOURCE = re.compile(
    r"'(?P<static>[^']*)'"
    r"|method\.request\.(?P<kind>path|querystring|header)\.(?P<name>.+)"
    r"|method\.request\.body(?:\.(?P<body>.+))?"
    r"|context\.(?P<context>[\w.-]+)"
    r"|stageVariables\.(?P<stage>\w+)"
)


def check_request_parameters(mapping: Mapping[str, str]) -> str | None:
    """What is wrong with a ``requestParameters`` map, or None."""
    for target, source in mapping.items():
        if _TARGET.fullmatch(target) is None:
            return f"{target}: not integration.request.(header|querystring|path).<name>"
        if _SOURCE.fullmatch(source) is None:
            return f"{target}: {source!r} is not a method request, context or static value"
    return None


def map_request_parameters(
    mapping: Mapping[str, str],
    *,
    params: Mapping[str, Mapping[str, str]],
    body: str,
    context: Mapping[str, Any],
    stage_variables: Mapping[str, str] | None,
) -> IntegrationRequest:
    """Apply ``mapping`` (checked by :func:`check_request_parameters`); ``params`` is
    ``$input.params()`` (``path``, ``querystring``, ``header``) and ``context`` is the
    request's ``$context``."""
    found: dict[str, dict[str, str]] = {"header": {}, "querystring": {}, "path": {}}
    for target, source in mapping.items():
        kind_of_target, name = _TARGET.fullmatch(target).groups()  # type: ignore[union-attr]
        value = source_value(source, params, body, context, stage_variables or {})
        if value is not None:
            found[kind_of_target][name] = value
    return IntegrationRequest(found["header"], found["querystring"], found["path"])


def source_value(
    source: str,
    params: Mapping[str, Mapping[str, str]],
    body: str,
    context: Mapping[str, Any],
    stage_variables: Mapping[str, str],
) -> str | None:
    """The value of one mapping source (None: the source has none, or is no source)."""
    matched = _SOURCE.fullmatch(source)
    if matched is None:
        return None
    if matched["static"] is not None:
        return matched["static"]
    if matched["kind"] is not None:
        values = params.get(matched["kind"], {})
        if matched["kind"] == "header":
            lowered = matched["name"].lower()
            return next((v for k, v in values.items() if k.lower() == lowered), None)
        return values.get(matched["name"])
    if matched["context"] is not None:
        value: Any = context
        for part in matched["context"].split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        return _text(value)
    if matched["stage"] is not None:
        return stage_variables.get(matched["stage"])
    if matched["body"] is None:
        return body
    try:
        document = json.loads(body) if body.strip() else {}
        return _text(json_path(document, "$." + matched["body"]))
    except ValueError:
        return None


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, Mapping | list):
        return None if value is None else json.dumps(value, separators=(",", ":"))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
