"""The Lambda proxy integration (``aws_proxy``): a v1 proxy event in, a proxy response out.

The function gets API Gateway's REST proxy event, whose ``requestContext.authorizer``
holds the authorizer's context values as strings plus ``principalId``. The integration
request's ``X-Amz-Tenant-Id`` header, when ``requestParameters`` maps one (say from
``context.authorizer.tenantId``), is the invocation's tenant id: the only way a REST API
reaches a ``PER_TENANT`` function. Its response is mapped back; a function error (it
raised, timed out or crashed) or a malformed response is 502, an invocation Lambda
refuses (throttled, a tenant id missing or not expected) is 500, as API Gateway answers
both, and an invocation longer than API Gateway's integration limit is 504.
"""

from __future__ import annotations

import base64
import json
import sys
import time
from typing import Any

from tenantkit.local.functions import InvocationError, InvokeRefused, Runtime
from tenantkit.local.gateway.authorizer import Authorization
from tenantkit.local.gateway.context import Call, header_maps, request_context, request_fields
from tenantkit.local.gateway.messages import Response, bad_gateway, json_response
from tenantkit.local.stack_specs import Stack

__all__ = ["INTEGRATION_TIMEOUT", "TENANT_HEADER", "LambdaProxy", "proxy_response"]

TENANT_HEADER = "X-Amz-Tenant-Id"  # the integration header Lambda reads the tenant from
INTEGRATION_TIMEOUT = 29.0  # seconds; API Gateway's limit for a REST integration
_RESPONSE_KEYS = {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}


class LambdaProxy:
    """Invokes a route's function with the proxy event and maps what it returns."""

    def __init__(self, stack: Stack, runtime: Runtime) -> None:
        self.stack = stack
        self.runtime = runtime

    def __call__(self, call: Call, authorization: Authorization | None) -> Response:
        event = self.event(call, authorization)
        invoked = time.monotonic()
        tenant_id = call.integration_request.header(TENANT_HEADER)
        try:
            result = self.runtime.invoke(call.route.function, event, tenant_id=tenant_id)
        except InvokeRefused as refused:
            print(f"tenantkit local: {call.route.function}: {refused}", file=sys.stderr)
            response = json_response(500, {"message": "Internal server error"})
        except InvocationError:
            response = bad_gateway()
        else:
            try:
                response = proxy_response(result)
            except ValueError as error:
                print(
                    f"tenantkit local: {call.route.function}: "
                    f"malformed Lambda proxy response: {error}",
                    file=sys.stderr,
                )
                response = bad_gateway()
        if time.monotonic() - invoked > INTEGRATION_TIMEOUT:
            response = json_response(504, {"message": "Endpoint request timed out"})
        return response

    def event(self, call: Call, authorization: Authorization | None) -> dict[str, Any]:
        route, request = call.route, call.request
        headers, multi_headers = header_maps(request)
        headers.setdefault("X-Forwarded-For", request.source_ip)
        multi_headers.setdefault("X-Forwarded-For", [request.source_ip])
        context = request_context(self.stack.account_id, route, request, call.request_id)
        if authorization is not None:
            authorizer: dict[str, Any] = authorization.as_strings()
            authorizer["principalId"] = authorization.principal_id
            authorizer["integrationLatency"] = int((time.monotonic() - call.started) * 1000)
            context["authorizer"] = authorizer
        try:
            body: str | None = request.body.decode("utf-8") if request.body else None
            encoded = False
        except UnicodeDecodeError:
            body, encoded = base64.b64encode(request.body).decode(), True
        return {
            "version": "1.0",
            **request_fields(call, (headers, multi_headers)),
            "pathParameters": dict(call.params) or None,
            "stageVariables": dict(route.api.variables) if route.api.variables else None,
            "requestContext": context,
            "body": body,
            "isBase64Encoded": encoded,
        }


def _scalar(value: Any, what: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    raise ValueError(f"{what} must be a string, number or boolean")


def proxy_response(result: Any) -> Response:
    """Map a Lambda proxy response; ValueError says what is malformed (API Gateway: 502)."""
    if not isinstance(result, dict):
        raise ValueError("the response is not an object")
    unknown = set(result) - _RESPONSE_KEYS
    if unknown:
        raise ValueError(f"unexpected keys {sorted(unknown)}")
    status = result.get("statusCode")
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise ValueError("statusCode must be an integer HTTP status")
    headers: dict[str, list[str]] = {}
    multi = result.get("multiValueHeaders") or {}
    single = result.get("headers") or {}
    if not isinstance(multi, dict) or not isinstance(single, dict):
        raise ValueError("headers and multiValueHeaders must be objects")
    for name, values in multi.items():
        if not isinstance(values, list):
            raise ValueError(f"multiValueHeaders[{name!r}] must be a list")
        headers[name] = [_scalar(v, f"multiValueHeaders[{name!r}]") for v in values]
    for name, value in single.items():
        if name not in headers:
            headers[name] = [_scalar(value, f"headers[{name!r}]")]
    body = result.get("body")
    if body is not None and not isinstance(body, str):
        raise ValueError("body must be a string")
    encoded = result.get("isBase64Encoded", False)
    if not isinstance(encoded, bool):
        raise ValueError("isBase64Encoded must be a boolean")
    if encoded and body:
        try:
            payload = base64.b64decode(body, validate=True)
        except ValueError:
            raise ValueError("body is not valid base64") from None
    else:
        payload = (body or "").encode()
    if not any(name.lower() == "content-type" for name in headers):
        headers["Content-Type"] = ["application/json"]
    pairs = [(name, value) for name, values in headers.items() for value in values]
    return Response(status, pairs, payload)
