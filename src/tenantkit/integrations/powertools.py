"""Powertools for AWS Lambda (Python) integration (extra ``tenantkit[powertools]``).

``TenantMiddleware`` is a router middleware for ``APIGatewayRestResolver`` and
``APIGatewayHttpResolver``: it reads the tenant from the authorizer context, runs
the route inside ``tenant_scope`` and, given a ``Logger``, appends ``tenant_id``
and ``user_id`` to its keys for the invocation only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tenantkit.context import TenantContext, tenant_scope
from tenantkit.errors import TenantKitError
from tenantkit.handlers import refusal_response

try:
    from aws_lambda_powertools.event_handler import Response
    from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
    from aws_lambda_powertools.event_handler.middlewares import BaseMiddlewareHandler
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "tenantkit.integrations.powertools needs Powertools: pip install 'tenantkit[powertools]'"
    ) from exc

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.event_handler.middlewares import NextMiddleware

__all__ = ["TenantMiddleware"]

_LOG_KEYS = ("tenant_id", "user_id")


class TenantMiddleware(BaseMiddlewareHandler[ApiGatewayResolver]):
    """Set the tenant for every route of a Powertools resolver.

    Usage: ``app.use(middlewares=[TenantMiddleware(logger)])``.
    """

    def __init__(self, logger: Logger | None = None) -> None:
        super().__init__()
        self._logger = logger

    def handler(self, app: ApiGatewayResolver, next_middleware: NextMiddleware) -> Response[Any]:
        event = app.current_event.raw_event
        try:
            ctx = TenantContext.from_event(event, app.lambda_context)
        except TenantKitError as error:
            refusal = refusal_response(error, event)
            return Response(
                status_code=refusal["statusCode"],
                content_type="application/json",
                body=refusal["body"],
            )
        if self._logger is not None:
            self._logger.append_keys(tenant_id=ctx.tenant_id, user_id=ctx.user_id)
        try:
            with tenant_scope(ctx):
                return next_middleware(app)
        finally:
            if self._logger is not None:
                self._logger.remove_keys(_LOG_KEYS)
