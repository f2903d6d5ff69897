"""Powertools for AWS Lambda (Python) integration (extra ``tenantkit[powertools]``).

``TenantMiddleware`` is a router middleware for ``APIGatewayRestResolver`` and
``APIGatewayHttpResolver``: it reads the tenant from the authorizer context, runs
the route inside ``tenant_scope``, answers tenantkit's errors with their status and,
given a ``Logger``, appends ``tenant_id`` and ``user_id`` to its keys for the
invocation only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tenantkit.context import TenantContext, tenant_scope
from tenantkit.errors import TenantKitError
from tenantkit.handlers import error_response, refusal

try:
    from aws_lambda_powertools.event_handler import Response
    from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
    from aws_lambda_powertools.event_handler.middlewares import BaseMiddlewareHandler
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "tenantkit.integrations.powertools needs Powertools: pip install 'tenantkit[powertools]'"
    ) from exc

try:  # Depends() wraps what a dependency raises; Powertools before Depends() wraps nothing.
    from aws_lambda_powertools.event_handler.depends import DependencyResolutionError
except ImportError:  # pragma: no cover - exercised only with an older Powertools
    _WRAPPERS: tuple[type[Exception], ...] = ()
else:
    _WRAPPERS = (DependencyResolutionError,)

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.event_handler.middlewares import NextMiddleware

__all__ = ["TenantMiddleware"]

_LOG_KEYS = ("tenant_id", "user_id")


class TenantMiddleware(BaseMiddlewareHandler[ApiGatewayResolver]):
    """Set the tenant for every route of a Powertools resolver, and answer tenantkit's errors.

    Usage: ``app.use(middlewares=[TenantMiddleware(logger)])``.

    The contract: a route, its route middlewares and its ``Depends()`` dependencies
    may raise any :class:`~tenantkit.errors.TenantKitError`, ``ForbiddenError`` from
    ``@requires_roles`` included, and the caller gets a JSON ``{"message": ...}``
    with the error's ``status_code`` (see :func:`tenantkit.handlers.error_response`).
    As with Powertools' own ``ServiceError``, an exception handler the app registers
    for the error's class or a base class answers instead. Other exceptions are left
    to Powertools. With ``enable_validation=True`` request validation runs before any
    middleware, so an invalid body stays Powertools' 422.
    """

    def __init__(self, logger: Logger | None = None) -> None:
        super().__init__()
        self._logger = logger

    def handler(self, app: ApiGatewayResolver, next_middleware: NextMiddleware) -> Response[Any]:
        event = app.current_event.raw_event
        try:
            ctx = TenantContext.from_event(event, app.lambda_context)
        except TenantKitError as refused:
            return _response(refusal(refused, event))
        if self._logger is not None:
            self._logger.append_keys(tenant_id=ctx.tenant_id, user_id=ctx.user_id)
        try:
            with tenant_scope(ctx):
                return next_middleware(app)
        except Exception as raised:
            answered = _unanswered_tenantkit_error(app, raised)
            if answered is None:
                raise
            return _response(answered)
        finally:
            if self._logger is not None:
                self._logger.remove_keys(_LOG_KEYS)


def _unanswered_tenantkit_error(
    app: ApiGatewayResolver, raised: Exception
) -> TenantKitError | None:
    """The tenantkit error to answer, or ``None`` to leave ``raised`` to Powertools.

    Raises the error a ``Depends()`` wrapper holds when the app has a handler for it,
    so that Powertools finds the handler however deep the dependency was.
    """
    handlers = app.exception_handler_manager  # Powertools 3.11+, hence the extra's floor
    if handlers.lookup_exception_handler(type(raised)) is not None:
        return None
    error: BaseException = raised
    while isinstance(error, _WRAPPERS) and isinstance(error.__cause__, Exception):
        error = error.__cause__
    if not isinstance(error, TenantKitError):
        return None
    if handlers.lookup_exception_handler(type(error)) is not None:
        raise error
    return error


def _response(error: TenantKitError) -> Response[Any]:
    answer = error_response(error)
    return Response(
        status_code=answer["statusCode"],
        content_type="application/json",
        body=answer["body"],
    )
