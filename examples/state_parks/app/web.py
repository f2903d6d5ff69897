"""HTTP plumbing shared by the API functions: routing, bodies, parameters and errors.

Every error leaves as ``{"message": ...}`` with a 4xx status for anything the caller
got wrong; a 500 means a bug here, and its body says nothing about it.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from tenantkit import install_tenant_log_filter
from tenantkit.errors import TenantKitError
from tenantkit.handlers import error_response, json_response

Event = Mapping[str, Any]
Response = dict[str, Any]
Route = Callable[[Event], Response]
M = TypeVar("M", bound=BaseModel)

logger = logging.getLogger("state_parks")
# Every record logged while a tenant is in scope carries tenant_id and user_id.
install_tenant_log_filter()


class RequestError(Exception):
    """The request itself is wrong; answered with ``status`` and a JSON message."""

    def __init__(self, status: int, message: str, errors: list[dict[str, str]] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors


def no_content() -> Response:
    return {"statusCode": 204, "headers": {}, "body": ""}


def dispatch(event: Event, routes: Mapping[tuple[str, str], Route]) -> Response:
    """Call the route for the event's method and resource, turning errors into responses."""
    route = routes.get((str(event.get("httpMethod")), str(event.get("resource"))))
    if route is None:
        return json_response(404, {"message": "No such route"})
    try:
        return route(event)
    except RequestError as error:
        body: dict[str, Any] = {"message": error.message}
        if error.errors:
            body["errors"] = error.errors
        return json_response(error.status, body)
    except TenantKitError as error:  # typed, with a status and a message meant for callers
        return error_response(error)
    except Exception:
        logger.exception("unhandled error in %s %s", event.get("httpMethod"), event.get("resource"))
        return json_response(500, {"message": "Internal error"})


def parse_body(event: Event, model: type[M]) -> M:
    """Validate the JSON body against ``model``; a 400 lists each field that is wrong."""
    raw = event.get("body")
    if event.get("isBase64Encoded") and isinstance(raw, str):
        try:
            raw = base64.b64decode(raw, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise RequestError(400, "request body is not valid base64 UTF-8") from None
    if not isinstance(raw, str) or not raw.strip():
        raise RequestError(400, "a JSON request body is required")
    try:
        return model.model_validate_json(raw)
    except ValidationError as error:
        errors = [
            {"field": ".".join(str(part) for part in item["loc"]) or "body", "message": item["msg"]}
            for item in error.errors(include_url=False, include_input=False)
        ]
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        raise RequestError(400, f"invalid request body: {summary}", errors) from None


def path_param(event: Event, name: str) -> str:
    params = event.get("pathParameters") or {}
    value = params.get(name) if isinstance(params, Mapping) else None
    if not isinstance(value, str) or not value:
        raise RequestError(400, f"missing path parameter {name}")
    return value


def query_param(event: Event, name: str) -> str | None:
    params = event.get("queryStringParameters") or {}
    value = params.get(name) if isinstance(params, Mapping) else None
    return value if isinstance(value, str) else None


def caller_id(event: Event) -> str:
    """The verified caller, as the authorizer put it in the request context; nothing else."""
    request_context = event.get("requestContext")
    authorizer = request_context.get("authorizer") if isinstance(request_context, Mapping) else None
    if isinstance(authorizer, Mapping):
        user_id = authorizer.get("userId") or authorizer.get("principalId")
        if isinstance(user_id, str) and user_id:
            return user_id
    raise RequestError(401, "Unauthorized")


def authorizer_value(event: Event, key: str) -> str | None:
    """A string from the authorizer context (``email``, ``firstName``, ``lastName``)."""
    request_context = event.get("requestContext")
    authorizer = request_context.get("authorizer") if isinstance(request_context, Mapping) else None
    value = authorizer.get(key) if isinstance(authorizer, Mapping) else None
    return value if isinstance(value, str) and value else None
