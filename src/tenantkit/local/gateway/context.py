"""What API Gateway tells an authorizer or an integration about a routed request: its
``requestContext`` and its header and query-string maps, built the same way for both."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tenantkit.local.gateway.messages import Request
from tenantkit.local.stack_specs import RouteSpec

__all__ = [
    "Call",
    "IntegrationRequest",
    "header_maps",
    "method_params",
    "request_context",
    "request_fields",
    "template_context",
]


@dataclass(frozen=True)
class IntegrationRequest:
    """What the integration's ``requestParameters`` mapped (gateway/request_parameters.py)."""

    headers: Mapping[str, str] = field(default_factory=dict)
    querystring: Mapping[str, str] = field(default_factory=dict)
    path: Mapping[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        """A mapped header by name, in any case (``X-Amz-Tenant-Id``)."""
        lowered = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lowered), None)


@dataclass(frozen=True)
class Call:
    """A routed request: the route it reached, its path parameters and its request id;
    once authorized, the integration request its ``requestParameters`` mapped."""

    route: RouteSpec
    request: Request
    params: Mapping[str, str]
    request_id: str
    started: float  # time.monotonic() when the gateway received it
    integration_request: IntegrationRequest = field(default_factory=IntegrationRequest)


def request_context(
    account_id: str, route: RouteSpec, request: Request, request_id: str
) -> dict[str, Any]:
    now = datetime.now(UTC)
    host = request.header("Host") or "localhost"
    return {
        "accountId": account_id,
        "apiId": route.api.api_id,
        "domainName": host,
        "domainPrefix": host.split(".", 1)[0],
        "extendedRequestId": request_id,
        "httpMethod": request.method,
        "identity": {
            "accessKey": None,
            "accountId": None,
            "caller": None,
            "cognitoAuthenticationProvider": None,
            "cognitoAuthenticationType": None,
            "cognitoIdentityId": None,
            "cognitoIdentityPoolId": None,
            "principalOrgId": None,
            "sourceIp": request.source_ip,
            "user": None,
            "userAgent": request.header("User-Agent"),
            "userArn": None,
        },
        "path": f"/{route.api.stage}{request.decoded_path}",
        "protocol": "HTTP/1.1",
        "requestId": request_id,
        "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "requestTimeEpoch": int(now.timestamp() * 1000),
        "resourceId": f"{route.method} {route.path}",
        "resourcePath": route.path,
        "stage": route.api.stage,
    }


def header_maps(request: Request) -> tuple[dict[str, str], dict[str, list[str]]]:
    """``headers`` (the last value of each) and ``multiValueHeaders`` (all of them)."""
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in request.headers:
        single[name] = value
        multi.setdefault(name, []).append(value)
    return single, multi


def _query_maps(request: Request) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    """As :func:`header_maps`, for the query string; both None without one."""
    if not request.query:
        return None, None
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in request.query:
        single[name] = value
        multi.setdefault(name, []).append(value)
    return single, multi


def request_fields(
    call: Call, headers: tuple[dict[str, str], dict[str, list[str]]]
) -> dict[str, Any]:
    """The fields a REST (v1) proxy event and a REQUEST authorizer's event share: the
    resource, path, method, ``headers`` (from :func:`header_maps`) and query string."""
    request = call.request
    query, multi_query = _query_maps(request)
    return {
        "resource": call.route.path,
        "path": request.decoded_path,
        "httpMethod": request.method,
        "headers": headers[0],
        "multiValueHeaders": headers[1],
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
    }


def method_params(call: Call) -> dict[str, dict[str, str]]:
    """``$input.params()``: the method request's ``path``, ``querystring`` and ``header``
    values (the last of a repeated name)."""
    query, _ = _query_maps(call.request)
    return {
        "path": dict(call.params),
        "querystring": query or {},
        "header": header_maps(call.request)[0],
    }


def template_context(
    account_id: str, call: Call, authorizer: Mapping[str, str] | None
) -> dict[str, Any]:
    """``$context`` for mapping templates and ``requestParameters``: the request context,
    ``authorizer`` (``principalId`` and the context values, as strings), and the
    ``requestOverride``/``responseOverride`` maps a template may set."""
    context = request_context(account_id, call.route, call.request, call.request_id)
    if authorizer is not None:
        context["authorizer"] = dict(authorizer)
    context["requestOverride"] = {"header": {}, "path": {}, "querystring": {}}
    context["responseOverride"] = {"status": None, "header": {}}
    return context
