"""The non-proxy half of an integration, shared by ``aws`` and ``mock``: the request
template, then the integration response chosen by ``selectionPattern``, its template,
its ``responseParameters`` and ``$context.responseOverride``.

Request template: the one for the request's ``Content-Type`` (``application/json``
when none is sent). With none for it, ``passthroughBehavior`` decides: ``WHEN_NO_MATCH``
passes the body through; ``WHEN_NO_TEMPLATES`` passes it only if the integration has no
template at all; otherwise 415 ``Unsupported Media Type``.

Integration response: the one whose ``selectionPattern`` matches the backend's status
code in full (a regular expression), else ``default``. Its template is the one for the
first ``Accept`` type it has, else ``application/json``, else its only one; with none,
the backend's body passes through.

A template that cannot render is the API's fault: 500 ``Internal server error`` with the
reason on stderr. Input a template cannot use (a body that is not JSON) is 400.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tenantkit.local.gateway.context import Call
from tenantkit.local.gateway.java import java_bytes, java_text
from tenantkit.local.gateway.mapping import Input, Util, json_path
from tenantkit.local.gateway.messages import Refusal, Response, json_response
from tenantkit.local.gateway.request_parameters import source_value
from tenantkit.local.gateway.validation import content_type
from tenantkit.local.gateway.vtl import InputFault, TemplateFault, render
from tenantkit.local.template.openapi import Integration, IntegrationResponse

__all__ = [
    "BackendAnswer",
    "RenderedRequest",
    "integration_response",
    "request_payload",
    "template_failure",
]


@dataclass
class BackendAnswer:
    """What the integration's backend answered."""

    status: int
    body: str
    headers: Mapping[str, str]


@dataclass
class RenderedRequest:
    """The rendered integration request, and the variables its template saw."""

    body: str
    variables: dict[str, Any]


def template_failure(call: Call, what: str, error: Exception) -> Refusal:
    print(f"tenantkit local: {call.route.where}: {what}: {error}", file=sys.stderr)
    return Refusal(json_response(500, {"message": "Internal server error"}))


def _caller_error(error: InputFault) -> Refusal:
    return Refusal(json_response(400, {"message": str(error)}, "BadRequestException"))


def request_payload(
    call: Call, integration: Integration, context: dict[str, Any], params: Mapping[str, Any]
) -> RenderedRequest:
    """Render the request template (:class:`Refusal` for 415, 400 and 500)."""
    body = call.request.body.decode("utf-8", "replace")
    variables = {
        "input": Input(body, params["path"], params["querystring"], params["header"]),
        "util": Util(),
        "context": context,
        "stageVariables": dict(call.route.api.variables or {}),
    }
    templates = integration.request_templates
    template = templates.get(content_type(params["header"]))
    if template is None:
        passthrough = integration.passthrough == "WHEN_NO_MATCH" or (
            integration.passthrough == "WHEN_NO_TEMPLATES" and not templates
        )
        if not passthrough:
            raise Refusal(
                json_response(415, {"message": "Unsupported Media Type"}, "UnsupportedMediaType")
            )
        return RenderedRequest(body, variables)
    try:
        return RenderedRequest(render(template, variables), variables)
    except InputFault as error:
        raise _caller_error(error) from None
    except TemplateFault as error:
        raise template_failure(call, "request template", error) from None


def _select(responses: tuple[IntegrationResponse, ...], status: int) -> IntegrationResponse | None:
    for response in responses:
        if response.pattern is not None and re.fullmatch(response.pattern, str(status)):
            return response
    return next((r for r in responses if r.pattern is None), None)


def _response_template(templates: Mapping[str, str], accept: str | None) -> tuple[str, str] | None:
    if not templates:
        return None
    for media_type in (accept or "").split(","):
        media_type = media_type.split(";", 1)[0].strip().lower()
        if media_type in templates:
            return media_type, templates[media_type]
    if "application/json" in templates:
        return "application/json", templates["application/json"]
    return next(iter(templates.items()))


def integration_response(
    call: Call, integration: Integration, mapped: RenderedRequest, backend: BackendAnswer
) -> Response:
    """The method response for what the backend answered (:class:`Refusal` on faults)."""
    chosen = _select(integration.responses, backend.status)
    if chosen is None:
        raise template_failure(
            call, "integration response", ValueError(f"none matches status {backend.status}")
        )
    headers: list[tuple[str, str]] = []
    body, media_type = backend.body, "application/json"
    variables = mapped.variables
    context = variables["context"]
    selected = _response_template(chosen.templates, call.request.header("Accept"))
    if selected is not None:
        media_type, template = selected
        old = variables["input"]
        variables = {
            **variables,
            "input": Input(
                backend.body, *(old.params()[k] for k in ("path", "querystring", "header"))
            ),
        }
        try:
            body = render(template, variables)
        except (TemplateFault, InputFault) as error:
            raise template_failure(call, "response template", error) from None
    headers.append(("Content-Type", media_type))
    for target, source in chosen.parameters.items():
        name = target.removeprefix("method.response.header.")
        value = _response_value(source, backend)
        if value is None:
            value = source_value(
                source,
                variables["input"].params(),
                call.request.body.decode("utf-8", "replace"),
                context,
                call.route.api.variables or {},
            )
        if name != target and value is not None:
            headers.append((name, value))
    override = context["responseOverride"]
    for name, value in (override.get("header") or {}).items():
        headers = [(k, v) for k, v in headers if k.lower() != str(name).lower()]
        headers.append((str(name), java_text(value)))
    status = chosen.status
    if override.get("status") is not None:
        try:
            status = int(str(override["status"]))
        except ValueError:
            raise template_failure(
                call, "responseOverride.status", ValueError(repr(override["status"]))
            ) from None
    return Response(status, headers, java_bytes(body))


def _response_value(source: str, backend: BackendAnswer) -> str | None:
    """``integration.response.header.X`` or ``integration.response.body[.path]``; the
    sources a request mapping also has (static, context...) are :func:`source_value`'s."""
    if source.startswith("integration.response.header."):
        wanted = source.removeprefix("integration.response.header.").lower()
        return next((v for k, v in backend.headers.items() if k.lower() == wanted), None)
    if source == "integration.response.body":
        return backend.body
    if source.startswith("integration.response.body."):
        try:
            value = json_path(Input(backend.body, {}, {}, {}).path("$"), "$." + source[26:])
        except (ValueError, InputFault):
            return None
        return None if value is None else java_text(value)
    return None
