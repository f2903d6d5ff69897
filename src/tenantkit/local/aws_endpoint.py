"""The loopback AWS endpoint every client of the local stack talks to.

moto's Lambda needs Docker, so this endpoint answers Lambda's ``Invoke`` itself, from
tenantkit's runtime (:mod:`tenantkit.local.functions`), and forwards every other request
to moto unchanged. ``AWS_ENDPOINT_URL`` names it, so the handlers' boto3 clients, moto's
Step Functions Lambda tasks and EventBridge targets all reach the same functions.

``Invoke`` as Lambda answers it (``POST /2015-03-31/functions/<name>/invocations``):

- ``X-Amz-Invocation-Type``: ``RequestResponse`` (200 with the result, or with
  ``X-Amz-Function-Error: Unhandled`` and Lambda's error document), ``Event`` (202 at
  once; the function runs in the background, and a failure is retried twice, as Lambda
  does, after 1 and 2 seconds instead of 1 and 2 minutes) or ``DryRun`` (204);
- ``X-Amz-Tenant-Id`` (botocore's ``TenantId``): the tenant of a ``PER_TENANT`` function;
- a refused invocation is Lambda's error status: 400 ``InvalidParameterValueException``
  (tenant id missing or unexpected), 404 ``ResourceNotFoundException``, 413
  ``RequestTooLargeException`` (past 6 MB, or 1 MB for ``Event``), 429
  ``TooManyRequestsException``.
"""

from __future__ import annotations

import http.client
import json
import re
import sys
import threading
import urllib.parse
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from tenantkit.local.runtime.errors import InvocationError, InvokeRefused

__all__ = ["AwsEndpoint", "LambdaService"]

_INVOKE = re.compile(r"/2015-03-31/functions/([^/]+)/invocations")
_NOT_RELAYED = {  # hop-by-hop headers, and those each server sets for itself
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "date",
    "server",
}
EVENT_RETRY_DELAYS = (1.0, 2.0)
SYNC_PAYLOAD_LIMIT = 6 * 1024 * 1024  # bytes; Lambda's for a synchronous invocation
EVENT_PAYLOAD_LIMIT = 1024 * 1024  # and for an asynchronous one


class LambdaService(Protocol):
    """What the endpoint needs from the runtime."""

    def resolve(self, name: str, tenant_id: str | None) -> str: ...

    def invoke(
        self, logical_id: str, event: Any, *, tenant_id: str | None = None, quiet: bool = False
    ) -> Any: ...


def _error(status: int, code: str, message: str) -> Response:
    return Response(
        json.dumps({"Type": "User", "message": message}),
        status=status,
        headers={"x-amzn-ErrorType": code, "Content-Type": "application/json"},
    )


class _Handler(WSGIRequestHandler):
    def log(self, type: str, message: str, *args: Any) -> None:
        """Silenced: the endpoint is plumbing; the gateway logs the requests that matter."""


class AwsEndpoint:
    """Serves ``Invoke`` from ``lambda_service`` and forwards the rest to ``upstream``."""

    def __init__(self, upstream: str) -> None:
        split = urllib.parse.urlsplit(upstream)
        if split.scheme != "http" or not split.hostname:
            raise ValueError(f"the upstream endpoint must be an http:// URL, not {upstream!r}")
        self._upstream = (split.hostname, split.port or 80)
        self.lambda_service: LambdaService | None = None
        self._events = ThreadPoolExecutor(max_workers=4, thread_name_prefix="lambda-event")
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    def start(self, host: str = "127.0.0.1") -> str:
        """Listen on a free port of ``host``; the endpoint's URL."""
        self._server = make_server(host, 0, self._app, threaded=True, request_handler=_Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True
        )
        self._thread.start()
        return f"http://{host}:{self._server.port}"

    def stop(self) -> None:
        self._stopping.set()
        self._events.shutdown(wait=False, cancel_futures=True)
        if self._server is not None and self._thread is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
            self._server = None

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        match = _INVOKE.fullmatch(request.path)
        if request.method == "POST" and match is not None:
            response = self._invoke(urllib.parse.unquote(match.group(1)), request)
        else:
            response = self._forward(request)
        return response(environ, start_response)

    # ------------------------------------------------------------------ Lambda Invoke

    def _invoke(self, name: str, request: Request) -> Response:
        service = self.lambda_service
        if service is None:
            return _error(404, "ResourceNotFoundException", f"Function not found: {name}")
        qualifier = request.args.get("Qualifier")
        if qualifier not in (None, "$LATEST"):
            return _error(404, "ResourceNotFoundException", f"Function not found: {name}")
        kind = request.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        if kind not in ("RequestResponse", "Event", "DryRun"):
            return _error(400, "InvalidParameterValueException", f"invocation type {kind!r}")
        tenant_id = request.headers.get("X-Amz-Tenant-Id")
        body = request.get_data()
        limit = SYNC_PAYLOAD_LIMIT if kind == "RequestResponse" else EVENT_PAYLOAD_LIMIT
        if len(body) > limit:
            return _error(
                413, "RequestTooLargeException", f"Request must be smaller than {limit} bytes"
            )
        try:
            event = json.loads(body) if body.strip() else {}
        except ValueError:
            return _error(400, "InvalidRequestContentException", "Could not parse request body")
        try:
            logical_id = service.resolve(name, tenant_id)
        except InvokeRefused as refused:
            return _error(refused.status, refused.code, str(refused.cause))
        if kind == "DryRun":
            return Response(status=204)
        if kind == "Event":
            self._events.submit(self._run_event, service, logical_id, event, tenant_id)
            return Response(status=202)
        try:
            result = service.invoke(logical_id, event, tenant_id=tenant_id)
        except InvokeRefused as refused:
            return _error(refused.status, refused.code, str(refused.cause))
        except InvocationError as failed:
            return Response(
                json.dumps(failed.payload),
                status=200,
                headers={"X-Amz-Function-Error": "Unhandled", "X-Amz-Executed-Version": "$LATEST"},
                content_type="application/json",
            )
        return Response(
            json.dumps(result),
            status=200,
            headers={"X-Amz-Executed-Version": "$LATEST"},
            content_type="application/json",
        )

    def _run_event(
        self, service: LambdaService, logical_id: str, event: Any, tenant_id: str | None
    ) -> None:
        for delay in (*EVENT_RETRY_DELAYS, None):
            try:
                service.invoke(logical_id, event, tenant_id=tenant_id)
                return
            except InvocationError as failed:
                if delay is None or self._stopping.wait(delay):
                    print(
                        f"tenantkit local: {logical_id}: asynchronous invocation dropped "
                        f"after its retries: {failed}",
                        file=sys.stderr,
                        flush=True,
                    )
                    return

    # ------------------------------------------------------------------ everything else

    def _forward(self, request: Request) -> Response:
        """Relay the request as it came (the raw target, headers and body): moto reads
        the service from the signature and the host, which pass through untouched. moto's
        server closes every connection after one response, so each relay opens its own."""
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _NOT_RELAYED}
        body = request.get_data()
        target = str(request.environ.get("RAW_URI") or request.full_path)
        host, port = self._upstream
        connection = http.client.HTTPConnection(host, port, timeout=60)
        try:
            connection.request(request.method, target, body=body, headers=headers)
            upstream = connection.getresponse()
            data = upstream.read()
        except (OSError, http.client.HTTPException) as error:
            print(f"tenantkit local: the backend failed: {error}", file=sys.stderr, flush=True)
            return _error(502, "ServiceUnavailable", f"the backend failed: {error}")
        finally:
            connection.close()
        kept = [(k, v) for k, v in upstream.getheaders() if k.lower() not in _NOT_RELAYED]
        return Response(data, status=upstream.status, headers=kept)
