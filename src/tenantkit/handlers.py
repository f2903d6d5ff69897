"""The Lambda boundary: the tenant comes in here, and tenantkit's errors go out as answers.

Code below the boundary raises typed errors (``tenantkit.errors``), ``@requires_roles``
included. ``@tenant_handler`` is the one place that turns them into API Gateway
responses; ``tenantkit.integrations.powertools.TenantMiddleware`` does the same for
Powertools resolvers with :func:`error_response`.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
import typing
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from tenantkit.context import (
    TenantContext,
    authorizer_context,
    caller_id,
    current_tenant_or_none,
    tenant_scope,
)
from tenantkit.errors import (
    ConfigurationError,
    EnvelopeError,
    ForbiddenError,
    NoTenantContextError,
    TenantKitError,
    TenantMismatchError,
    UnauthorizedError,
)
from tenantkit.metering import metered_invocation

if TYPE_CHECKING:
    from tenantkit.events.envelope import EnvelopeSigner

__all__ = [
    "error_response",
    "is_api_gateway_event",
    "json_response",
    "refusal",
    "requires_roles",
    "tenant_handler",
]

P = ParamSpec("P")
R = TypeVar("R")

logger = logging.getLogger("tenantkit.handlers")


def json_response(status_code: int, body: object) -> dict[str, Any]:
    """An API Gateway proxy response with a JSON body (REST v1 and HTTP API v2 alike)."""
    return {
        "statusCode": status_code,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body, separators=(",", ":")),
    }


def is_api_gateway_event(event: object) -> bool:
    """True for HTTP proxy events: API Gateway REST (v1) and HTTP API (v2), and the
    function URL and ALB events of the same shapes, which take the same answers."""
    if not isinstance(event, Mapping):
        return False
    request_context = event.get("requestContext")
    if not isinstance(request_context, Mapping):
        return False
    return "httpMethod" in event or "routeKey" in event or "http" in request_context


def error_response(error: TenantKitError) -> dict[str, Any]:
    """The JSON answer to ``error``: its ``status_code`` and ``{"message": ...}``.

    The message is the error's own below 500. Server errors say only "Internal error",
    and are logged with their traceback for the operator; a failed authentication
    says only "Unauthorized", so a caller learns nothing about why.
    """
    if error.status_code >= 500:
        logger.error("answered %d", error.status_code, exc_info=error)
        message = "Internal error"
    else:
        logger.info("answered %d: %s", error.status_code, type(error).__name__)
        message = "Unauthorized" if isinstance(error, UnauthorizedError) else str(error)
    return json_response(error.status_code, {"message": message})


def refusal(error: TenantKitError, event: object) -> TenantKitError:
    """What to answer when ``event`` carries no usable tenant (``error`` says why).

    401 when nobody is authenticated, 403 otherwise. The message is fixed, so the
    answer never echoes what the caller sent.
    """
    if caller_id(event) is None:
        return UnauthorizedError("no authenticated user in the authorizer context")
    if isinstance(error, NoTenantContextError):
        return NoTenantContextError("No active tenant; switch to a tenant first")
    return ForbiddenError("Forbidden")


@typing.overload
def tenant_handler(fn: Callable[P, R], /) -> Callable[P, R | dict[str, Any]]: ...


@typing.overload
def tenant_handler(
    *, signer: EnvelopeSigner | None = None, api_gateway: bool = False
) -> Callable[[Callable[P, R]], Callable[P, R | dict[str, Any]]]: ...


def tenant_handler(
    fn: Callable[P, R] | None = None,
    /,
    *,
    signer: EnvelopeSigner | None = None,
    api_gateway: bool = False,
) -> Callable[P, R | dict[str, Any]] | Callable[[Callable[P, R]], Callable[P, R | dict[str, Any]]]:
    """Run a Lambda handler with the tenant of its event in scope.

    The tenant is reset when the handler returns or raises, so a warm container
    never carries one invocation's tenant into the next.

    ``@tenant_handler`` takes API Gateway events: the tenant comes from the authorizer
    context. That context is only as trustworthy as whoever may invoke the function,
    since a direct ``Invoke`` can write it: restrict the function's resource policy to
    ``apigateway.amazonaws.com`` with the API's ``SourceArn``.

    ``@tenant_handler(signer=...)`` takes direct invocations only, such as
    ``TenantFunction``'s of a tenant-isolated function: the payload must carry a tenant
    envelope sealed for this function (``invoke:<context.function_name>``) that
    ``signer`` verifies, naming the same tenant as Lambda's ``context.tenant_id`` when
    that is set, and the handler receives the envelope's payload as its event.
    ``context.tenant_id`` alone is never a tenant, and neither is an authorizer context:
    whoever may invoke the function chooses both. ``api_gateway=True`` takes API Gateway
    events as well, from the authorizer as above, which trusts every principal allowed
    to invoke the function as much as API Gateway: restrict its resource policy.

    On API Gateway events, a missing or invalid tenant is a JSON 401/403, and a
    :class:`TenantKitError` the handler raises becomes its :func:`error_response`.
    On any other event (SQS, EventBridge, a direct ``Invoke``) the error is raised:
    Lambda then reports a function error, and SQS or an asynchronous invocation
    retries as configured, which a 4xx dict returned as a success would prevent.
    Other exceptions always propagate unchanged. With a metered ``TenantTable`` the
    invocation prints one EMF record of its tenant's usage (``tenantkit.metering``).
    """
    if api_gateway and signer is None:
        raise ConfigurationError(
            "api_gateway=True goes with signer=...; without a signer, tenant_handler "
            "takes API Gateway events only"
        )

    def decorate(fn: Callable[P, R]) -> Callable[P, R | dict[str, Any]]:
        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | dict[str, Any]:
            event = args[0] if args else kwargs.get("event")
            lambda_context = args[1] if len(args) > 1 else kwargs.get("context")
            over_http = is_api_gateway_event(event)
            # With a signer, only envelopes, unless API Gateway events are opted into.
            envelopes = None if api_gateway and over_http else signer
            answers = over_http and envelopes is None
            call_args: Any = args
            try:
                if envelopes is not None:
                    ctx, payload = _direct_invocation(event, lambda_context, envelopes)
                    if args:
                        call_args = (payload, *args[1:])
                    else:
                        kwargs["event"] = payload
                else:
                    ctx = TenantContext.from_event(
                        event if isinstance(event, Mapping) else {}, lambda_context
                    )
            except TenantKitError as error:
                if not answers:
                    raise
                logger.warning("tenant refused: %s", type(error).__name__)
                return error_response(refusal(error, event))
            tier = None if envelopes is not None else (authorizer_context(event) or {}).get("tier")
            try:
                with tenant_scope(ctx), metered_invocation(ctx.tenant_id, tier):
                    return fn(*call_args, **kwargs)
            except TenantKitError as error:
                if not answers:
                    raise
                return error_response(error)

        return wrapper

    return decorate if fn is None else decorate(fn)


def _direct_invocation(
    event: object, lambda_context: object, signer: EnvelopeSigner
) -> tuple[TenantContext, Any]:
    """The tenant and payload of a direct ``Invoke``, from the envelope it must carry."""
    from tenantkit.events.carried import open_carried
    from tenantkit.events.envelope import invoke_purpose

    try:
        if is_api_gateway_event(event) or authorizer_context(event) is not None:
            raise EnvelopeError(
                "an event with an authorizer context reached tenant_handler(signer=...), "
                "which takes envelopes only; pass api_gateway=True (and restrict the "
                "function's resource policy to API Gateway) to take API Gateway events"
            )
        function_name = getattr(lambda_context, "function_name", None)
        if not isinstance(function_name, str):
            raise EnvelopeError(
                "the Lambda context names no function_name, so the envelope's purpose "
                "cannot be checked"
            )
        opened = open_carried(signer, event, purpose=invoke_purpose(function_name))
        isolated = getattr(lambda_context, "tenant_id", None)
        if isolated is not None and isolated != opened.context.tenant_id:
            raise TenantMismatchError(
                "the Lambda tenant-isolation tenant differs from the envelope's tenant; "
                "invoke the function with TenantFunction under the envelope's tenant"
            )
    except TenantKitError as error:
        logger.warning("direct invocation refused: %s", error)
        raise
    return opened.context, opened.payload


def requires_roles(*roles: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Raise :class:`ForbiddenError` unless the current tenant context holds one of ``roles``.

    Defence in depth behind the authorizer's policy. Place it under ``@tenant_handler``
    or on a route of a resolver that uses ``TenantMiddleware``: both answer the error
    with a JSON 403.
    """
    if not roles:
        raise TypeError("requires_roles() needs at least one role")

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            ctx = current_tenant_or_none()
            if ctx is None or not ctx.has_role(*roles):
                raise ForbiddenError("Forbidden")
            return fn(*args, **kwargs)

        wrapper.__signature__ = _resolved_signature(fn)  # type: ignore[attr-defined]
        return wrapper

    return decorate


def _resolved_signature(fn: Callable[..., Any]) -> inspect.Signature:
    """``fn``'s signature with its string annotations evaluated where ``fn`` was written.

    Powertools reads a route's annotations (a pydantic body, ``Depends()``) against the
    ``__globals__`` of the function it was given. Under ``from __future__ import
    annotations`` that would be this module's for a decorated route, and the body would
    turn into a missing query parameter. A name defined after the route stays a string.
    """
    signature = inspect.signature(fn)
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except NameError:
        return signature
    parameters = [
        parameter.replace(annotation=hints.get(parameter.name, parameter.annotation))
        for parameter in signature.parameters.values()
    ]
    return signature.replace(
        parameters=parameters,
        return_annotation=hints.get("return", signature.return_annotation),
    )
