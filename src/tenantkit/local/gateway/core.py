"""The gateway's request pipeline, in API Gateway's order (see the package docstring)."""

from __future__ import annotations

import dataclasses
import time
import uuid

from tenantkit.local.functions import Runtime
from tenantkit.local.gateway.authorizer import Authorization, Authorizers
from tenantkit.local.gateway.context import Call, method_params, template_context
from tenantkit.local.gateway.integrations.aws_service import AwsService
from tenantkit.local.gateway.integrations.lambda_proxy import LambdaProxy
from tenantkit.local.gateway.integrations.mock import mock
from tenantkit.local.gateway.messages import (
    Refusal,
    Request,
    Response,
    encoded_separator,
    json_response,
    missing_token,
)
from tenantkit.local.gateway.request_parameters import (
    check_request_parameters,
    map_request_parameters,
)
from tenantkit.local.gateway.router import Router, has_encoded_separator
from tenantkit.local.gateway.validation import check_models, validate_request
from tenantkit.local.stack_specs import RouteSpec, Stack
from tenantkit.local.template import TemplateError

__all__ = ["HEALTH_PATH", "Gateway"]

HEALTH_PATH = "/_local/health"


def _check(route: RouteSpec) -> None:
    """Refuse at start what no request could run: a bad mapping or model."""
    problem = None
    if route.integration is not None:
        problem = check_request_parameters(route.integration.request_parameters)
    if problem is None and route.validation is not None:
        problem = check_models(route.validation)
    if problem is not None:
        raise TemplateError(f"{route.where}: {problem}")


class Gateway:
    """Routes requests, runs authorizers (with their cache), validators and the integration."""

    def __init__(self, stack: Stack, runtime: Runtime) -> None:
        for route in stack.routes:
            _check(route)
        self.stack = stack
        self.router = Router(stack.routes)
        self.authorizers = Authorizers(stack, runtime)
        self.lambda_proxy = LambdaProxy(stack, runtime)
        self.aws_service = AwsService(stack.region)

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
        try:
            if route.authorizer is not None:
                authorization = self.authorizers.authorize(call, route.authorizer)
            response = self._integrate(call, authorization)
        except Refusal as refusal:
            response = refusal.response
        response.headers.append(("x-amzn-RequestId", call.request_id))
        if authorization is not None:
            response.user, response.tenant = authorization.principal_id, authorization.tenant
        return response

    def _integrate(self, call: Call, authorization: Authorization | None) -> Response:
        """Validate the request, map its parameters, and run the route's integration."""
        route = call.route
        params = method_params(call)
        if route.validation is not None:
            validate_request(route.validation, params, call.request.body)
        authorizer = None
        if authorization is not None:
            authorizer = {**authorization.as_strings(), "principalId": authorization.principal_id}
        context = template_context(self.stack.account_id, call, authorizer)
        integration = route.integration
        if integration is not None:
            mapped = map_request_parameters(
                integration.request_parameters,
                params=params,
                body=call.request.body.decode("utf-8", "replace"),
                context=context,
                stage_variables=route.api.variables,
            )
            call = dataclasses.replace(call, integration_request=mapped)
        if integration is None or integration.type == "aws_proxy":
            return self.lambda_proxy(call, authorization)
        if integration.type == "aws":
            return self.aws_service(call, integration, context, params)
        return mock(call, integration, context, params)
