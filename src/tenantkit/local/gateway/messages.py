"""A request as the gateway reads it, a response as it answers, and the gateway's own
answers (API Gateway's bodies and ``x-amzn-ErrorType`` values), kept in one place so
every stage refuses in API Gateway's words."""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass

__all__ = [
    "Refusal",
    "Request",
    "Response",
    "authorizer_failure",
    "bad_gateway",
    "encoded_separator",
    "json_response",
    "missing_token",
    "unauthorized",
]


@dataclass
class Request:
    method: str
    path: str  # as sent (percent-encoded), without the query string
    query: list[tuple[str, str]]
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str = "127.0.0.1"

    @property
    def decoded_path(self) -> str:
        return urllib.parse.unquote(self.path)

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return values[-1] if values else None


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    user: str = "-"  # for the access log: the authorizer's principalId
    tenant: str = "-"  # and its context's tenantId


class Refusal(Exception):
    """A stage answers the request itself; nothing after it runs."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def json_response(status: int, body: object, error_type: str | None = None) -> Response:
    headers = [("Content-Type", "application/json")]
    if error_type is not None:
        headers.append(("x-amzn-ErrorType", error_type))
    return Response(status, headers, json.dumps(body, separators=(",", ":")).encode())


def missing_token() -> Response:
    return json_response(
        403, {"message": "Missing Authentication Token"}, "MissingAuthenticationTokenException"
    )


def unauthorized() -> Response:
    return json_response(401, {"message": "Unauthorized"}, "UnauthorizedException")


def authorizer_failure() -> Response:
    return json_response(500, {"message": None}, "AuthorizerConfigurationException")


def encoded_separator() -> Response:
    return json_response(
        400,
        {"message": "Bad request: an encoded '/' or '\\' (%2F, %5C) inside a path segment"},
        "BadRequestException",
    )


def bad_gateway() -> Response:
    return json_response(502, {"message": "Internal server error"})
