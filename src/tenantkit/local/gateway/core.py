"""The gateway's request pipeline, in API Gateway's order (see the package docstring)."""

from __future__ import annotations

import time
import uuid

from tenantkit.local.functions import Runtime
from tenantkit.local.gateway.authorizer import Authorization, Authorizers
from tenantkit.local.gateway.context import Call
from tenantkit.local.gateway.integrations.lambda_proxy import LambdaProxy
from tenantkit.local.gateway.messages import (
    Refusal,
    Request,
    Response,
    encoded_separator,
    json_response,
    missing_token,
)
from tenantkit.local.gateway.router import Router, has_encoded_separator
from tenantkit.local.stack import Stack

__all__ = ["HEALTH_PATH", "Gateway"]

HEALTH_PATH = "/_local/health"


class Gateway:
    """Routes requests, runs authorizers (with their cache) and the integration."""

    def __init__(self, stack: Stack, runtime: Runtime) -> None:
        self.stack = stack
        self.router = Router(stack.routes)
        self.authorizers = Authorizers(stack, runtime)
        self.lambda_proxy = LambdaProxy(stack, runtime)

    def health(self) -> Response:
        apis = {
            api.logical_id: {"id": api.api_id, "stage": api.stage}
            for api in self.stack.apis.values()
        }
        return json_response(200, {"status": "ok", "apis": apis})

    def handle(self, request: Request) -> Response:
        if request.method == "GET" and request.path == HEALTH_PATH:
            return self.health()
        if has_encoded_separator(request.path):
            return encoded_separator()
        found = self.router.route(request.method, request.path)
        if found is None:
            return missing_token()
        route, params = found
        call = Call(route, request, params, str(uuid.uuid4()), time.monotonic())
        authorization: Authorization | None = None
        if route.authorizer is not None:
            try:
                authorization = self.authorizers.authorize(call, route.authorizer)
            except Refusal as refusal:
                return refusal.response
        response = self.lambda_proxy(call, authorization)
        response.headers.append(("x-amzn-RequestId", call.request_id))
        if authorization is not None:
            response.user, response.tenant = authorization.principal_id, authorization.tenant
        return response
