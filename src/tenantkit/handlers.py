"""Decorators that give a Lambda handler its tenant, and take it away afterwards."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec, TypeVar

from tenantkit.context import TenantContext, current_tenant_or_none, tenant_scope
from tenantkit.errors import NoTenantContextError, TenantKitError, UnauthorizedError

__all__ = [
    "error_response",
    "is_api_gateway_event",
    "json_response",
    "refusal_response",
    "requires_roles",
    "tenant_handler",
]

P = ParamSpec("P")
R = TypeVar("R")

logger = logging.getLogger("tenantkit.handlers")


def json_response(status_code: int, body: object) -> dict[str, Any]:
    """An API Gateway proxy response with a JSON body."""
    return {
        "statusCode": status_code,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body, separators=(",", ":")),
    }


def is_api_gateway_event(event: object) -> bool:
    """True for API Gateway REST v1 and HTTP API v2 proxy events."""
    if not isinstance(event, Mapping):
        return False
    request_context = event.get("requestContext")
    if not isinstance(request_context, Mapping):
        return False
    return "httpMethod" in event or "routeKey" in event or "http" in request_context


def refusal_response(error: TenantKitError, event: Mapping[str, Any]) -> dict[str, Any]:
    """401 when nobody is authenticated, 403 otherwise. The body never echoes input."""
    has_user = False
    request_context = event.get("requestContext")
    if isinstance(request_context, Mapping):
        authorizer = request_context.get("authorizer")
        if isinstance(authorizer, Mapping) and event.get("version") == "2.0":
            authorizer = authorizer.get("lambda")
        if isinstance(authorizer, Mapping):
            has_user = bool(authorizer.get("userId") or authorizer.get("principalId"))
    if not has_user:
        return json_response(401, {"message": "Unauthorized"})
    if isinstance(error, NoTenantContextError):
        return json_response(403, {"message": "No active tenant; switch to a tenant first"})
    return json_response(403, {"message": "Forbidden"})


def tenant_handler(fn: Callable[P, R]) -> Callable[P, R | dict[str, Any]]:
    """Run a Lambda handler with the tenant from the authorizer context in scope.

    The tenant is reset when the handler returns or raises, so a warm container
    never carries one invocation's tenant into the next. On API Gateway events a
    missing or invalid tenant becomes a JSON 401/403; on other events the typed
    error is raised. The handler's own exceptions propagate unchanged.
    """

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | dict[str, Any]:
        event = args[0] if args else kwargs.get("event")
        lambda_context = args[1] if len(args) > 1 else kwargs.get("context")
        try:
            ctx = TenantContext.from_event(
                event if isinstance(event, Mapping) else {}, lambda_context
            )
        except TenantKitError as error:
            if not is_api_gateway_event(event):
                raise
            logger.warning("tenant refused: %s", type(error).__name__)
            return refusal_response(error, event)  # type: ignore[arg-type]
        with tenant_scope(ctx):
            return fn(*args, **kwargs)

    return wrapper


def requires_roles(*roles: str) -> Callable[[Callable[P, R]], Callable[P, R | dict[str, Any]]]:
    """Answer a JSON 403 unless the current tenant context holds one of ``roles``.

    Defence in depth behind the authorizer's policy; place it under ``@tenant_handler``.
    """
    if not roles:
        raise TypeError("requires_roles() needs at least one role")

    def decorate(fn: Callable[P, R]) -> Callable[P, R | dict[str, Any]]:
        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | dict[str, Any]:
            ctx = current_tenant_or_none()
            if ctx is None or not ctx.has_role(*roles):
                return json_response(403, {"message": "Forbidden"})
            return fn(*args, **kwargs)

        return wrapper

    return decorate


def error_response(error: TenantKitError) -> dict[str, Any]:
    """Map a tenantkit error to a JSON response with its status and a safe message."""
    if isinstance(error, UnauthorizedError):
        return json_response(401, {"message": "Unauthorized"})
    if error.status_code >= 500:
        return json_response(error.status_code, {"message": "Internal error"})
    return json_response(error.status_code, {"message": str(error)})
