"""HTTP plumbing shared by the API functions: one Powertools resolver each.

``resolver()`` gives a Powertools ``APIGatewayRestResolver`` with validation on: it
routes the request, validates query parameters and bodies against each route's
annotations (the pydantic models of ``models.py``), and, for the data-plane functions,
runs every route inside the caller's tenant with tenantkit's ``TenantMiddleware``.

Every error leaves as ``{"message": ...}`` with a 4xx status for anything the caller got
wrong: a request that fails validation is a 400 whose ``errors`` name each field (not
Powertools' 422, so that the reference's clients see the status they always did), a
tenantkit error its own status. A 500 means a bug here, and its body says nothing about it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as RouteNotFound
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from tenantkit import install_tenant_log_filter
from tenantkit.context import authorizer_context, caller_id
from tenantkit.errors import UnauthorizedError
from tenantkit.integrations.powertools import TenantMiddleware, register_error_handler

JSON = "application/json"

logger = logging.getLogger("state_parks")
# Every record logged while a tenant is in scope carries tenant_id and user_id.
install_tenant_log_filter()


def resolver(*, tenant_scoped: bool) -> APIGatewayRestResolver:
    """A validating REST resolver; ``tenant_scoped`` puts the caller's tenant in scope.

    tenantkit's errors are answered by the handler ``register_error_handler`` registers,
    on the resolvers without ``TenantMiddleware`` too; a catch-all handler answers the rest.
    """
    app = APIGatewayRestResolver(enable_validation=True)
    if tenant_scoped:
        app.use(middlewares=[TenantMiddleware()])
    app.exception_handler(RequestValidationError)(invalid_request)
    register_error_handler(app)
    app.exception_handler(Exception)(server_error)
    app.not_found(no_such_route)
    return app


def json_answer(status: int, body: object) -> Response[str]:
    return Response(status_code=status, content_type=JSON, body=json.dumps(body))


def created(entity_id: str) -> Response[str]:
    return json_answer(HTTPStatus.CREATED, {"id": entity_id})


def no_content() -> Response[str]:
    return Response(status_code=HTTPStatus.NO_CONTENT, body="")


def field_name(problem: Mapping[str, Any]) -> str:
    """``("body", "roles", 0)`` -> ``roles.0``; the whole body, or JSON that is not, -> ``body``."""
    location: Sequence[object] = problem.get("loc") or ("request",)
    if problem.get("type") == "json_invalid":  # its location is a character offset
        return "body"
    return ".".join(str(part) for part in location[1:]) or str(location[0])


def invalid_request(error: RequestValidationError) -> Response[str]:
    """400, with each wrong field and pydantic's message for it (never the input)."""
    problems = [
        {"field": field_name(item), "message": str(item.get("msg", "invalid"))}
        for item in error.errors()
    ]
    in_body = any((item.get("loc") or ("",))[0] == "body" for item in error.errors())
    summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
    what = "invalid request body" if in_body else "invalid request"
    body = {"message": f"{what}: {summary}", "errors": problems}
    return json_answer(HTTPStatus.BAD_REQUEST, body)


def server_error(error: Exception) -> Response[str]:
    logger.error("unhandled error", exc_info=error)
    return json_answer(HTTPStatus.INTERNAL_SERVER_ERROR, {"message": "Internal error"})


def no_such_route(error: RouteNotFound) -> Response[str]:
    return json_answer(HTTPStatus.NOT_FOUND, {"message": "No such route"})


def verified_caller(event: Mapping[str, Any]) -> str:
    """The verified caller, as the authorizer put it in the request context; else a 401."""
    user_id = caller_id(event)
    if user_id is None:
        raise UnauthorizedError("no authenticated user in the authorizer context")
    return user_id


def authorizer_value(event: Mapping[str, Any], key: str) -> str | None:
    """A string from the authorizer context (``email``, ``firstName``, ``lastName``)."""
    value = (authorizer_context(event) or {}).get(key)
    return value if isinstance(value, str) and value else None
