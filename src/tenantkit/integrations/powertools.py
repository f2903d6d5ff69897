"""Powertools for AWS Lambda (Python) integration (extra ``tenantkit[powertools]``).

``TenantMiddleware`` is a router middleware for ``APIGatewayRestResolver`` and
``APIGatewayHttpResolver``: it reads the tenant from the authorizer context, runs
the route inside ``tenant_scope``, answers tenantkit's errors with their status and,
given a ``Logger``, appends ``tenant_id`` and ``user_id`` to its keys for the
invocation only. With a metered ``TenantTable`` it prints the invocation's EMF record
of usage, as ``@tenant_handler`` does (``tenantkit.metering``).
``register_error_handler(app)`` gives a resolver without the middleware (routes that
need no tenant) the same answers to tenantkit's errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from tenantkit.context import TenantContext, authorizer_context, tenant_scope
from tenantkit.errors import TenantKitError
from tenantkit.handlers import error_response, refusal
from tenantkit.metering import metered_invocation

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

__all__ = ["TenantMiddleware", "register_error_handler"]

_LOG_KEYS = ("tenant_id", "user_id")


class TenantMiddleware(BaseMiddlewareHandler[ApiGatewayResolver]):
    """Set the tenant for every route of a Powertools resolver, and answer tenantkit's errors.

    Usage: ``app.use(middlewares=[TenantMiddleware(logger)])``.

    The contract: a route, its route middlewares and its ``Depends()`` dependencies
    may raise any :class:`~tenantkit.errors.TenantKitError`, ``ForbiddenError`` from
    ``@requires_roles`` included, and the caller gets a JSON ``{"message": ...}``
    with the error's ``status_code`` (see :func:`tenantkit.handlers.error_response`).
    An exception handler the app registers for the error's class or one of its
    tenantkit bases (up to ``TenantKitError``) answers instead; a catch-all handler for
    ``Exception`` does not, so refusals never turn into that handler's 500. Other
    exceptions are left to Powertools. With ``enable_validation=True`` request
    validation runs before any middleware, so an invalid body stays Powertools' 422.
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
        tier = (authorizer_context(event) or {}).get("tier")
        try:
            with tenant_scope(ctx), metered_invocation(ctx.tenant_id, tier):
                return next_middleware(app)
        except Exception as raised:
            # exception_handler_manager: Powertools 3.11+, hence the extra's floor
            registered = app.exception_handler_manager.get_registered_handlers()
            error = _tenantkit_error(raised, registered)
            if error is None:
                raise
            if any(cls in registered for cls in _tenantkit_classes(error)):
                # Unchanged (no new cause): Powertools hands it to the app's handler.
                raise error  # noqa: B904
            return _response(error)
        finally:
            if self._logger is not None:
                self._logger.remove_keys(_LOG_KEYS)


_App = TypeVar("_App", bound=ApiGatewayResolver)


def register_error_handler(app: _App) -> _App:
    """Answer every :class:`~tenantkit.errors.TenantKitError` the app's routes raise as
    ``TenantMiddleware`` does, for a resolver (or its routes) without the middleware.

    Registered for ``TenantKitError``, so a handler for a narrower class still wins and a
    catch-all for ``Exception`` does not take these. Returns ``app``.
    """
    app.exception_handler(TenantKitError)(_response)
    return app


def _tenantkit_error(raised: Exception, registered: Mapping[type, object]) -> TenantKitError | None:
    """The tenantkit error behind ``raised``, looking inside ``Depends()`` wrappers
    (unless the app handles the wrapper itself), or ``None``."""
    error: BaseException = raised
    while (
        isinstance(error, _WRAPPERS)
        and type(error) not in registered
        and isinstance(error.__cause__, Exception)
    ):
        error = error.__cause__
    return error if isinstance(error, TenantKitError) else None


def _tenantkit_classes(error: TenantKitError) -> list[type]:
    """``error``'s class and its tenantkit bases: a handler for ``Exception`` is not one."""
    return [cls for cls in type(error).__mro__ if issubclass(cls, TenantKitError)]


def _response(error: TenantKitError) -> Response[Any]:
    answer = error_response(error)
    return Response(
        status_code=answer["statusCode"],
        content_type="application/json",
        body=answer["body"],
    )
