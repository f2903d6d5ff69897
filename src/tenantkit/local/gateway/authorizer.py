"""Lambda authorizers as API Gateway runs them: identity sources, the TTL cache, the
TOKEN or REQUEST event, and the policy evaluated against the request's method ARN.

The cache is keyed by API, authorizer and identity-source values, and it holds the
*policy*, not the decision: each request's method ARN is evaluated against it, so a
tenant switch takes effect for a caller only when the entry expires, exactly as in AWS.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass
from typing import Any

from tenantkit.local.functions import InvocationError, Runtime
from tenantkit.local.gateway.context import Call, header_maps, request_context, request_fields
from tenantkit.local.gateway.messages import (
    Refusal,
    Request,
    authorizer_failure,
    json_response,
    unauthorized,
)
from tenantkit.local.policy import Decision, PolicyError, evaluate
from tenantkit.local.stack_specs import AuthorizerSpec, RouteSpec, Stack

__all__ = ["Authorization", "Authorizers", "method_arn"]

NOT_AUTHORIZED = "User is not authorized to access this resource"


@dataclass
class Authorization:
    """An authorizer's result: what the cache keeps and the integration is told."""

    principal_id: str
    policy: Any
    context: dict[str, str | int | float | bool]
    expires: float

    @property
    def tenant(self) -> str:
        return str(self.context.get("tenantId", "-"))

    def as_strings(self) -> dict[str, str]:
        """``requestContext.authorizer`` without ``principalId``: every value a string,
        booleans as ``true``/``false`` and numbers as JSON, as API Gateway passes them."""
        return {key: _string(value) for key, value in self.context.items()}


def _string(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return json.dumps(value)


def method_arn(stack: Stack, route: RouteSpec, method: str, path: str) -> str:
    """``arn:aws:execute-api:<region>:<account>:<api id>/<stage>/<METHOD>/<path>``, with
    the request's own (decoded) path, not the route's template."""
    api = route.api
    return (
        f"arn:aws:execute-api:{stack.region}:{stack.account_id}:"
        f"{api.api_id}/{api.stage}/{method}/{path.lstrip('/')}"
    )


class Authorizers:
    """Runs a route's authorizer, with API Gateway's result cache, and its policy."""

    def __init__(self, stack: Stack, runtime: Runtime) -> None:
        self.stack = stack
        self.runtime = runtime
        self._cache: dict[tuple[str, str, tuple[str, ...]], Authorization] = {}
        self._lock = threading.Lock()

    def authorize(self, call: Call, authorizer: AuthorizerSpec) -> Authorization:
        """The authorization of an allowed call; :class:`Refusal` (401/403/500) otherwise."""
        request = call.request
        identity = _identity(authorizer, request)
        if identity is None:
            raise Refusal(unauthorized())
        expression = authorizer.validation_expression
        if expression is not None and re.fullmatch(expression, identity[0]) is None:
            raise Refusal(unauthorized())
        arn = method_arn(self.stack, call.route, request.method, request.decoded_path)
        key = (call.route.api.logical_id, authorizer.name, identity)
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(key)
        if cached is None or cached.expires <= now:
            cached = self._invoke(call, authorizer, arn)
            if authorizer.ttl > 0:
                cached.expires = now + authorizer.ttl
                with self._lock:
                    self._cache[key] = cached
        try:
            decision = evaluate(cached.policy, arn)
        except PolicyError as error:
            print(f"tenantkit local: {authorizer.function}: {error}", file=sys.stderr)
            raise Refusal(authorizer_failure()) from None
        if decision is Decision.EXPLICIT_DENY:
            body = {"Message": f"{NOT_AUTHORIZED} with an explicit deny"}
        elif decision is Decision.IMPLICIT_DENY:
            body = {"Message": NOT_AUTHORIZED}
        else:
            return cached
        denied = json_response(403, body, "AccessDeniedException")
        denied.user, denied.tenant = cached.principal_id, cached.tenant
        raise Refusal(denied)

    def _invoke(self, call: Call, authorizer: AuthorizerSpec, arn: str) -> Authorization:
        if authorizer.payload_type == "TOKEN":
            token = call.request.header(authorizer.headers[0]) or ""
            event: dict[str, Any] = {"type": "TOKEN", "authorizationToken": token, "methodArn": arn}
        else:
            event = self._request_event(call, authorizer, arn)
        try:
            result = self.runtime.invoke(authorizer.function, event, quiet=True)
        except InvocationError as error:
            if str(error.cause) == "Unauthorized":
                raise Refusal(unauthorized()) from None
            print(f"tenantkit local: authorizer {authorizer.function} failed:", file=sys.stderr)
            traceback.print_exception(error.cause, file=sys.stderr)
            raise Refusal(authorizer_failure()) from None
        problem = _problem(result)
        if problem is not None:
            print(f"tenantkit local: authorizer {authorizer.function}: {problem}", file=sys.stderr)
            raise Refusal(authorizer_failure())
        return Authorization(
            principal_id=result["principalId"],
            policy=result["policyDocument"],
            context=dict(result.get("context") or {}),
            expires=0.0,
        )

    def _request_event(self, call: Call, authorizer: AuthorizerSpec, arn: str) -> dict[str, Any]:
        route, request = call.route, call.request
        identity = _identity(authorizer, request) or ()
        return {
            "version": "1.0",
            "type": "REQUEST",
            "methodArn": arn,
            "identitySource": ",".join(identity),
            "authorizationToken": ",".join(identity),
            **request_fields(call, header_maps(request)),
            "pathParameters": dict(call.params),
            "stageVariables": dict(route.api.variables) if route.api.variables else {},
            "requestContext": request_context(
                self.stack.account_id, route, request, str(uuid.uuid4())
            ),
        }


def _identity(authorizer: AuthorizerSpec, request: Request) -> tuple[str, ...] | None:
    """The identity-source values, in order; None if one is missing or empty."""
    query = dict(request.query)
    values: list[str] = []
    for header in authorizer.headers:
        value = request.header(header)
        if not value:
            return None
        values.append(value)
    for name in authorizer.query_strings:
        if not query.get(name):
            return None
        values.append(query[name])
    return tuple(values)


def _problem(result: Any) -> str | None:
    """What makes an authorizer's result unusable (API Gateway: 500), or None."""
    if not isinstance(result, dict):
        return "the result is not an object"
    if not isinstance(result.get("principalId"), str) or not result["principalId"]:
        return "principalId must be a non-empty string"
    if "policyDocument" not in result:
        return "policyDocument is missing"
    context = result.get("context")
    if context is None:
        return None
    if not isinstance(context, dict):
        return "context must be an object"
    for key, value in context.items():
        if not isinstance(value, str | int | float | bool):
            return f"context value {key!r} is not a string, number or boolean"
    return None
