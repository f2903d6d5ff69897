"""An HTTP server that behaves like an API Gateway REST API with Lambda proxy integration.

For each request, in API Gateway's order:

0. A path with an encoded ``/`` or ``\\`` (``%2F``, ``%5C``) is 400: see
   ``_ENCODED_SEPARATOR``. A body that ``Content-Length`` does not frame exactly (any
   ``Transfer-Encoding``) is refused and the connection closed: see ``_body_length``.
1. Route to the most specific resource (literal segment, then ``{param}``, then
   ``{proxy+}``) and its method (an exact method before ``ANY``). No route: 403
   ``{"message":"Missing Authentication Token"}``.
2. With an authorizer, a missing identity source is 401 without calling it. Otherwise
   the cached result for the same identity-source values is reused for the authorizer's
   TTL (``ReauthorizeEvery``), or the authorizer is invoked with a REQUEST (or TOKEN)
   event whose ``methodArn`` is
   ``arn:aws:execute-api:<region>:<account>:<api id>/<stage>/<METHOD>/<path>``.
   ``Exception("Unauthorized")`` is 401; any other failure, a malformed policy or a
   context value that is not a string, number or boolean is 500 ``{"message":null}``.
3. The policy is evaluated against the method ARN (:mod:`tenantkit.local.policy`);
   a deny is 403.
4. The function gets a v1 proxy event whose ``requestContext.authorizer`` holds the
   context values as strings plus ``principalId``. Its response is mapped back; a
   handler error or a malformed response is 502, more than 29 seconds is 504.

The cached result holds the *policy*, so a tenant switch takes effect for a caller
only when the cache entry expires, exactly as in AWS.
"""

from __future__ import annotations

import base64
import json
import re
import sys
import threading
import time
import traceback
import urllib.parse
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tenantkit.local.functions import InvocationError, Runtime
from tenantkit.local.policy import Decision, PolicyError, evaluate
from tenantkit.local.stack import AuthorizerSpec, RouteSpec, Stack

__all__ = ["Gateway", "Request", "Response", "serve"]

HEALTH_PATH = "/_local/health"
MAX_BODY = 10 * 1024 * 1024
NOT_AUTHORIZED = "User is not authorized to access this resource"
INTEGRATION_TIMEOUT = 29.0  # seconds; API Gateway's limit for a REST integration
# Routing splits the path before decoding it, while the method ARN reads the decoded path:
# "/parks/p1%2Ffavorites%2Ff1" routes to DELETE /parks/{parkId} with an ARN that a policy
# for DELETE /parks/*/favorites/* allows. Until a deployed stack pins what API Gateway
# does with them, encoded separators inside a segment are refused (see docs/local.md).
_ENCODED_SEPARATOR = re.compile(r"%(?:2f|5c)", re.IGNORECASE)
_RESPONSE_KEYS = {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}


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
    user: str = "-"
    tenant: str = "-"


def _json(status: int, body: object, error_type: str | None = None) -> Response:
    headers = [("Content-Type", "application/json")]
    if error_type is not None:
        headers.append(("x-amzn-ErrorType", error_type))
    return Response(status, headers, json.dumps(body, separators=(",", ":")).encode())


def missing_token() -> Response:
    return _json(
        403, {"message": "Missing Authentication Token"}, "MissingAuthenticationTokenException"
    )


def unauthorized() -> Response:
    return _json(401, {"message": "Unauthorized"}, "UnauthorizedException")


def authorizer_failure() -> Response:
    return _json(500, {"message": None}, "AuthorizerConfigurationException")


def encoded_separator() -> Response:
    return _json(
        400,
        {"message": "Bad request: an encoded '/' or '\\' (%2F, %5C) inside a path segment"},
        "BadRequestException",
    )


def bad_gateway() -> Response:
    return _json(502, {"message": "Internal server error"})


@dataclass
class _Authorization:
    principal_id: str
    policy: Any
    context: dict[str, str | int | float | bool]
    expires: float


class _Failure(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def _match(route: RouteSpec, segments: list[str]) -> dict[str, str] | None:
    params: dict[str, str] = {}
    template = route.segments
    for index, part in enumerate(template):
        if part.endswith("+}"):
            rest = segments[index:]
            if not rest:
                return None
            params[part[1:-2]] = "/".join(rest)
            return params
        if index >= len(segments):
            return None
        if part.startswith("{"):
            if not segments[index]:
                return None
            params[part[1:-1]] = segments[index]
        elif part != segments[index]:
            return None
    return params if len(template) == len(segments) else None


def _rank(route: RouteSpec) -> tuple[int, ...]:
    return tuple(2 if s.endswith("+}") else 1 if s.startswith("{") else 0 for s in route.segments)


def _stringify(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return json.dumps(value)


class Gateway:
    """Routes requests, runs authorizers (with their cache) and maps handler responses."""

    def __init__(self, stack: Stack, runtime: Runtime) -> None:
        self.stack = stack
        self.runtime = runtime
        self._cache: dict[tuple[str, str, tuple[str, ...]], _Authorization] = {}
        self._cache_lock = threading.Lock()

    def health(self) -> Response:
        apis = {
            api.logical_id: {"id": api.api_id, "stage": api.stage}
            for api in self.stack.apis.values()
        }
        return _json(200, {"status": "ok", "apis": apis})

    def route(self, method: str, path: str) -> tuple[RouteSpec, dict[str, str]] | None:
        # Split before decoding: an encoded "/" (%2F) stays inside its segment.
        segments = [urllib.parse.unquote(s) for s in path.split("/")]
        segments = segments[1:] if segments and segments[0] == "" else segments
        if segments and segments[-1] == "":
            segments.pop()
        best: tuple[tuple[int, ...], RouteSpec, dict[str, str]] | None = None
        for route in self.stack.routes:
            params = _match(route, segments)
            if params is None:
                continue
            rank = _rank(route)
            if best is None or rank < best[0]:
                best = (rank, route, params)
        if best is None:
            return None
        resource = best[1]
        on_resource = [
            r
            for r in self.stack.routes
            if r.api == resource.api and r.path == resource.path and r.method in (method, "ANY")
        ]
        if not on_resource:
            return None
        chosen = min(on_resource, key=lambda r: r.method == "ANY")
        return chosen, best[2]

    def handle(self, request: Request) -> Response:
        if request.method == "GET" and request.path == HEALTH_PATH:
            return self.health()
        if _ENCODED_SEPARATOR.search(request.path):
            return encoded_separator()
        found = self.route(request.method, request.path)
        if found is None:
            return missing_token()
        route, params = found
        request_id = str(uuid.uuid4())
        started = time.monotonic()
        authorization = None
        try:
            if route.authorizer is not None:
                authorization = self._authorize(route, route.authorizer, request, params)
        except _Failure as failure:
            return failure.response
        event = self._proxy_event(route, request, params, request_id, authorization, started)
        invoked = time.monotonic()
        try:
            result = self.runtime.invoke(route.function, event)
        except InvocationError:
            response = bad_gateway()
        else:
            response = self._response(route, result)
        if time.monotonic() - invoked > INTEGRATION_TIMEOUT:
            response = _json(504, {"message": "Endpoint request timed out"})
        response.headers.append(("x-amzn-RequestId", request_id))
        if authorization is not None:
            response.user = authorization.principal_id
            response.tenant = str(authorization.context.get("tenantId", "-"))
        return response

    # ------------------------------------------------------------------ authorizer

    def method_arn(self, route: RouteSpec, method: str, path: str) -> str:
        api = route.api
        return (
            f"arn:aws:execute-api:{self.stack.region}:{self.stack.account_id}:"
            f"{api.api_id}/{api.stage}/{method}/{path.lstrip('/')}"
        )

    def _identity(self, authorizer: AuthorizerSpec, request: Request) -> tuple[str, ...] | None:
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

    def _authorize(
        self,
        route: RouteSpec,
        authorizer: AuthorizerSpec,
        request: Request,
        params: Mapping[str, str],
    ) -> _Authorization:
        identity = self._identity(authorizer, request)
        if identity is None:
            raise _Failure(unauthorized())
        expression = authorizer.validation_expression
        if expression is not None and re.fullmatch(expression, identity[0]) is None:
            raise _Failure(unauthorized())
        method_arn = self.method_arn(route, request.method, request.decoded_path)
        key = (route.api.logical_id, authorizer.name, identity)
        now = time.monotonic()
        with self._cache_lock:
            cached = self._cache.get(key)
        if cached is None or cached.expires <= now:
            cached = self._invoke_authorizer(route, authorizer, request, params, method_arn)
            if authorizer.ttl > 0:
                cached.expires = now + authorizer.ttl
                with self._cache_lock:
                    self._cache[key] = cached
        try:
            decision = evaluate(cached.policy, method_arn)
        except PolicyError as error:
            print(f"tenantkit local: {authorizer.function}: {error}", file=sys.stderr)
            raise _Failure(authorizer_failure()) from None
        if decision is Decision.EXPLICIT_DENY:
            body = {"Message": f"{NOT_AUTHORIZED} with an explicit deny"}
        elif decision is Decision.IMPLICIT_DENY:
            body = {"Message": NOT_AUTHORIZED}
        else:
            return cached
        denied = _json(403, body, "AccessDeniedException")
        denied.user = cached.principal_id
        denied.tenant = str(cached.context.get("tenantId", "-"))
        raise _Failure(denied)

    def _invoke_authorizer(
        self,
        route: RouteSpec,
        authorizer: AuthorizerSpec,
        request: Request,
        params: Mapping[str, str],
        method_arn: str,
    ) -> _Authorization:
        if authorizer.payload_type == "TOKEN":
            token = request.header(authorizer.headers[0]) or ""
            event: dict[str, Any] = {
                "type": "TOKEN",
                "authorizationToken": token,
                "methodArn": method_arn,
            }
        else:
            event = self._request_event(route, request, params, method_arn, authorizer)
        try:
            result = self.runtime.invoke(authorizer.function, event, quiet=True)
        except InvocationError as error:
            if str(error.cause) == "Unauthorized":
                raise _Failure(unauthorized()) from None
            print(f"tenantkit local: authorizer {authorizer.function} failed:", file=sys.stderr)
            traceback.print_exception(error.cause, file=sys.stderr)
            raise _Failure(authorizer_failure()) from None
        problem = _authorizer_problem(result)
        if problem is not None:
            print(f"tenantkit local: authorizer {authorizer.function}: {problem}", file=sys.stderr)
            raise _Failure(authorizer_failure())
        return _Authorization(
            principal_id=result["principalId"],
            policy=result["policyDocument"],
            context=dict(result.get("context") or {}),
            expires=0.0,
        )

    def _request_event(
        self,
        route: RouteSpec,
        request: Request,
        params: Mapping[str, str],
        method_arn: str,
        authorizer: AuthorizerSpec,
    ) -> dict[str, Any]:
        identity = self._identity(authorizer, request) or ()
        headers, multi_headers = _headers(request)
        query, multi_query = _query(request)
        return {
            "version": "1.0",
            "type": "REQUEST",
            "methodArn": method_arn,
            "identitySource": ",".join(identity),
            "authorizationToken": ",".join(identity),
            "resource": route.path,
            "path": request.decoded_path,
            "httpMethod": request.method,
            "headers": headers,
            "multiValueHeaders": multi_headers,
            "queryStringParameters": query,
            "multiValueQueryStringParameters": multi_query,
            "pathParameters": dict(params),
            "stageVariables": dict(route.api.variables) if route.api.variables else {},
            "requestContext": self._request_context(route, request, str(uuid.uuid4())),
        }

    # ------------------------------------------------------------------ proxy

    def _request_context(
        self, route: RouteSpec, request: Request, request_id: str
    ) -> dict[str, Any]:
        now = datetime.now(UTC)
        host = request.header("Host") or "localhost"
        return {
            "accountId": self.stack.account_id,
            "apiId": route.api.api_id,
            "domainName": host,
            "domainPrefix": host.split(".", 1)[0],
            "extendedRequestId": request_id,
            "httpMethod": request.method,
            "identity": {
                "accessKey": None,
                "accountId": None,
                "caller": None,
                "cognitoAuthenticationProvider": None,
                "cognitoAuthenticationType": None,
                "cognitoIdentityId": None,
                "cognitoIdentityPoolId": None,
                "principalOrgId": None,
                "sourceIp": request.source_ip,
                "user": None,
                "userAgent": request.header("User-Agent"),
                "userArn": None,
            },
            "path": f"/{route.api.stage}{request.decoded_path}",
            "protocol": "HTTP/1.1",
            "requestId": request_id,
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "resourceId": f"{route.method} {route.path}",
            "resourcePath": route.path,
            "stage": route.api.stage,
        }

    def _proxy_event(
        self,
        route: RouteSpec,
        request: Request,
        params: Mapping[str, str],
        request_id: str,
        authorization: _Authorization | None,
        started: float,
    ) -> dict[str, Any]:
        headers, multi_headers = _headers(request)
        headers.setdefault("X-Forwarded-For", request.source_ip)
        multi_headers.setdefault("X-Forwarded-For", [request.source_ip])
        query, multi_query = _query(request)
        context = self._request_context(route, request, request_id)
        if authorization is not None:
            authorizer: dict[str, Any] = {
                k: _stringify(v) for k, v in authorization.context.items()
            }
            authorizer["principalId"] = authorization.principal_id
            authorizer["integrationLatency"] = int((time.monotonic() - started) * 1000)
            context["authorizer"] = authorizer
        try:
            body: str | None = request.body.decode("utf-8") if request.body else None
            encoded = False
        except UnicodeDecodeError:
            body, encoded = base64.b64encode(request.body).decode(), True
        return {
            "version": "1.0",
            "resource": route.path,
            "path": request.decoded_path,
            "httpMethod": request.method,
            "headers": headers,
            "multiValueHeaders": multi_headers,
            "queryStringParameters": query,
            "multiValueQueryStringParameters": multi_query,
            "pathParameters": dict(params) or None,
            "stageVariables": dict(route.api.variables) if route.api.variables else None,
            "requestContext": context,
            "body": body,
            "isBase64Encoded": encoded,
        }

    def _response(self, route: RouteSpec, result: Any) -> Response:
        try:
            return _proxy_response(result)
        except ValueError as error:
            print(
                f"tenantkit local: {route.function}: malformed Lambda proxy response: {error}",
                file=sys.stderr,
            )
            return bad_gateway()


def _authorizer_problem(result: Any) -> str | None:
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


def _headers(request: Request) -> tuple[dict[str, str], dict[str, list[str]]]:
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in request.headers:
        single[name] = value
        multi.setdefault(name, []).append(value)
    return single, multi


def _query(request: Request) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    if not request.query:
        return None, None
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in request.query:
        single[name] = value
        multi.setdefault(name, []).append(value)
    return single, multi


def _scalar(value: Any, what: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    raise ValueError(f"{what} must be a string, number or boolean")


def _proxy_response(result: Any) -> Response:
    """Map a Lambda proxy response; ValueError says what is malformed (API Gateway: 502)."""
    if not isinstance(result, dict):
        raise ValueError("the response is not an object")
    unknown = set(result) - _RESPONSE_KEYS
    if unknown:
        raise ValueError(f"unexpected keys {sorted(unknown)}")
    status = result.get("statusCode")
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise ValueError("statusCode must be an integer HTTP status")
    headers: dict[str, list[str]] = {}
    multi = result.get("multiValueHeaders") or {}
    single = result.get("headers") or {}
    if not isinstance(multi, dict) or not isinstance(single, dict):
        raise ValueError("headers and multiValueHeaders must be objects")
    for name, values in multi.items():
        if not isinstance(values, list):
            raise ValueError(f"multiValueHeaders[{name!r}] must be a list")
        headers[name] = [_scalar(v, f"multiValueHeaders[{name!r}]") for v in values]
    for name, value in single.items():
        if name not in headers:
            headers[name] = [_scalar(value, f"headers[{name!r}]")]
    body = result.get("body")
    if body is not None and not isinstance(body, str):
        raise ValueError("body must be a string")
    encoded = result.get("isBase64Encoded", False)
    if not isinstance(encoded, bool):
        raise ValueError("isBase64Encoded must be a boolean")
    if encoded and body:
        try:
            payload = base64.b64decode(body, validate=True)
        except ValueError:
            raise ValueError("body is not valid base64") from None
    else:
        payload = (body or "").encode()
    if not any(name.lower() == "content-type" for name in headers):
        headers["Content-Type"] = ["application/json"]
    pairs = [(name, value) for name, values in headers.items() for value in values]
    return Response(status, pairs, payload)


# ---------------------------------------------------------------------- HTTP server


def _printable(text: str) -> str:
    """One token of the access log: no spaces or control characters from the caller."""
    return "".join(c if c.isprintable() and c != " " else "?" for c in text)


def _body_length(headers: Message) -> int:
    """The body's length, framed by one plain ``Content-Length`` only.

    This server implements no transfer coding, so any ``Transfer-Encoding`` (in any
    case, alone or beside a length) is 501, and a length that is repeated with another
    value or is not plain digits (``+0``, ``0_0``, which ``int`` accepts) is 400. A
    front end that framed the request differently could otherwise have the rest of the
    body run here as a second request.
    """
    names = [name.strip().lower() for name in headers]
    if "transfer-encoding" in names:
        raise _Failure(
            _json(501, {"message": "Transfer-Encoding is not supported; send Content-Length"})
        )
    lengths = {
        value.strip() for name, value in headers.items() if name.strip().lower() == "content-length"
    }
    if not lengths:
        return 0
    text = lengths.pop()
    if lengths or not (text.isascii() and text.isdigit()):
        raise _Failure(_json(400, {"message": "Bad request body"}))
    if len(text) > len(str(MAX_BODY)) or int(text) > MAX_BODY:
        raise _Failure(_json(413, {"message": "Request body too large"}))
    return int(text)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "tenantkit-local"
    gateway: Gateway

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: :meth:`_serve` writes one access log line per request instead."""

    def _serve(self) -> None:
        started = time.monotonic()
        split = urllib.parse.urlsplit(self.path)
        path = split.path or "/"
        try:
            length = _body_length(self.headers)
            body = self.rfile.read(length) if length else b""
            if len(body) != length:
                raise _Failure(_json(400, {"message": "Bad request body"}))
        except _Failure as failure:
            # The body was not read, or not all of it: what is left on the connection
            # must never be parsed as a request of its own.
            response = failure.response
            response.headers.append(("Connection", "close"))
            self.close_connection = True
        else:
            request = Request(
                method=self.command,
                path=path,
                query=urllib.parse.parse_qsl(split.query, keep_blank_values=True),
                headers=list(self.headers.items()),
                body=body,
                source_ip=self.client_address[0],
            )
            try:
                response = self.gateway.handle(request)
            except Exception:
                traceback.print_exc(file=sys.stderr)
                response = _json(500, {"message": "Internal server error"})
        elapsed = (time.monotonic() - started) * 1000
        print(
            f"tenantkit local: {self.command} {_printable(path)} {response.status} "
            f"user={_printable(response.user)} tenant={_printable(response.tenant)} "
            f"{elapsed:.1f}ms",
            file=sys.stderr,
            flush=True,
        )
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def __getattr__(self, name: str) -> Any:
        # Every method reaches the gateway, as in API Gateway: one it has no route for
        # (TRACE, say) is a 403 Missing Authentication Token, not http.server's 501.
        if name.startswith("do_") and name[3:].isalpha():
            return self._serve
        raise AttributeError(name)


def serve(gateway: Gateway, host: str, port: int) -> ThreadingHTTPServer:
    """Bind the gateway's HTTP server; the caller runs ``serve_forever`` and shuts it down."""
    handler = type("GatewayHandler", (_Handler,), {"gateway": gateway})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server
