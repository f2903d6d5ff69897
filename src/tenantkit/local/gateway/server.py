"""The HTTP server in front of the gateway: werkzeug's threaded WSGI server.

werkzeug (which moto brings) parses requests and writes responses; this module adds
what API Gateway does at the edge and a development server does not:

- The gateway reads the path *as sent* (``RAW_URI``), not werkzeug's decoded
  ``PATH_INFO``: the router refuses an encoded ``/`` or ``\\`` and decodes the segments
  itself, after splitting.
- A body is framed by one plain ``Content-Length`` only (:func:`body_length`).
- One access log line per request, in place of werkzeug's.
- Response headers go out as UTF-8 bytes; a name that is no token or a value with CR,
  LF or NUL, which would split the response, makes it a 502 (:func:`wire_headers`).

werkzeug answers each connection once: after the response it discards what else the
client sent and closes it. So a body left unread (refused framing) can never run as a
second request; the framing checks refuse what a front end might frame differently.
"""

from __future__ import annotations

import http.client
import re
import socket
import sys
import time
import traceback
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.serving import (
    BaseWSGIServer,
    WSGIRequestHandler,
    make_server,
    select_address_family,
)

from tenantkit.local.gateway.core import Gateway
from tenantkit.local.gateway.java import java_bytes
from tenantkit.local.gateway.messages import (
    Refusal,
    Request,
    Response,
    bad_gateway,
    json_response,
)

__all__ = ["MAX_BODY", "body_length", "serve", "wire_headers"]

MAX_BODY = 10 * 1024 * 1024
_FIELD_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
HEADERS = "tenantkit.headers"  # environ key: the headers as sent, repeats and all
HEADER_DEFECTS = "tenantkit.header_defects"  # environ key: the parser met a malformed line
StartResponse = Callable[[str, list[tuple[str, str]]], object]


def _printable(text: str) -> str:
    """One token of the access log: no spaces or control characters from the caller."""
    return "".join(c if c.isprintable() and c != " " else "?" for c in text)


def body_length(headers: Iterable[tuple[str, str]], *, malformed: bool = False) -> int:
    """The body's length, framed by one plain ``Content-Length`` only.

    This server implements no transfer coding, so any ``Transfer-Encoding`` (in any
    case, alone or beside a length) is 501, and a length that is repeated with another
    value or is not plain digits (``+0``, ``0_0``, which ``int`` accepts) is 400. A
    front end that framed the request differently could otherwise have the rest of the
    body run here as a second request. For the same reason a field name that is not an
    RFC 9110 token (``Content-Length : 5``) and an obs-fold continuation line are 400
    (RFC 9112 sections 5.1 and 5.2), as is a line that is no header at all
    (``malformed``): Python's parser would keep them as other headers, or drop them.
    """
    headers = list(headers)
    if malformed or not all(
        _FIELD_NAME.fullmatch(name) and "\n" not in value for name, value in headers
    ):
        raise Refusal(json_response(400, {"message": "Bad request headers"}))
    if any(name.lower() == "transfer-encoding" for name, _ in headers):
        raise Refusal(
            json_response(
                501, {"message": "Transfer-Encoding is not supported; send Content-Length"}
            )
        )
    lengths = {value.strip() for name, value in headers if name.lower() == "content-length"}
    if not lengths:
        return 0
    text = lengths.pop()
    if lengths or not (text.isascii() and text.isdigit()):
        raise Refusal(json_response(400, {"message": "Bad request body"}))
    if len(text) > len(str(MAX_BODY)) or int(text) > MAX_BODY:
        raise Refusal(json_response(413, {"message": "Request body too large"}))
    return int(text)


def wire_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]] | None:
    """The headers as PEP 3333 hands them to the server: each value's UTF-8 bytes as
    latin-1 text (so text beyond latin-1 goes out in UTF-8, an unpaired surrogate as
    Java encodes it). None when a name is no RFC 9110 token or a value holds CR, LF or
    NUL: the line would end early, and a template or a function's proxy response could
    add headers or a body of its choosing (response splitting)."""
    wire = []
    for name, value in headers:
        if not _FIELD_NAME.fullmatch(name) or any(c in value for c in "\r\n\0"):
            return None
        wire.append((name, java_bytes(value).decode("latin-1")))
    return wire


class _App:
    """The WSGI application: a request from the environ, the gateway's answer back."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        started = time.monotonic()
        method = str(environ["REQUEST_METHOD"])
        # PEP 3333 hands the request target over as latin-1 of its UTF-8 (werkzeug's
        # "encoding dance"): undo it to get the target exactly as http.server read it.
        split = urllib.parse.urlsplit(str(environ["RAW_URI"]).encode("latin-1").decode())
        path = split.path or "/"
        try:
            length = body_length(environ[HEADERS], malformed=environ[HEADER_DEFECTS])
            body = environ["wsgi.input"].read(length) if length else b""
            if len(body) != length:
                raise Refusal(json_response(400, {"message": "Bad request body"}))
        except Refusal as refusal:
            response = refusal.response
        else:
            request = Request(
                method=method,
                path=path,
                query=urllib.parse.parse_qsl(split.query, keep_blank_values=True),
                headers=list(environ[HEADERS]),
                body=body,
                source_ip=str(environ["REMOTE_ADDR"]),
            )
            response = self._handle(request)
        headers = wire_headers(response.headers)
        if headers is None:
            print(
                f"tenantkit local: {method} {_printable(path)}: a response header would "
                "split the response",
                file=sys.stderr,
            )
            response = bad_gateway()
            headers = list(response.headers)
        elapsed = (time.monotonic() - started) * 1000
        print(
            f"tenantkit local: {method} {_printable(path)} {response.status} "
            f"user={_printable(response.user)} tenant={_printable(response.tenant)} "
            f"{elapsed:.1f}ms",
            file=sys.stderr,
            flush=True,
        )
        reason = http.client.responses.get(response.status, "")
        headers.append(("Content-Length", str(len(response.body))))
        start_response(f"{response.status} {reason}", headers)
        return [] if method == "HEAD" else [response.body]

    def _handle(self, request: Request) -> Response:
        try:
            return self.gateway.handle(request)
        except Exception:
            traceback.print_exc(file=sys.stderr)
            return json_response(500, {"message": "Internal server error"})


class _Handler(WSGIRequestHandler):
    """werkzeug's handler, with the raw headers in the environ and no log of its own."""

    protocol_version = "HTTP/1.1"

    @property
    def server_version(self) -> str:  # type: ignore[override]
        return "tenantkit-local"

    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        # werkzeug folds repeated headers and drops names with "_": framing and the
        # proxy event need them as they came.
        environ[HEADERS] = list(self.headers.items())
        # A line that is no header ("Content Length: 5", "Transfer-Encoding\t: x") ends
        # Python's header parsing with a defect, and the lines after it are dropped.
        environ[HEADER_DEFECTS] = bool(self.headers.defects)
        return environ

    def log(self, type: str, message: str, *args: Any) -> None:
        """Silenced: :class:`_App` writes one access log line per request instead."""


def serve(gateway: Gateway, host: str, port: int) -> BaseWSGIServer:
    """Bind the gateway's HTTP server; the caller runs ``serve_forever`` and shuts it down.

    The socket is bound here, so a port in use is an ``OSError`` for the caller to
    report: werkzeug would print its own message and exit the process.
    """
    family = select_address_family(host, port)
    with socket.create_server((host, port), family=family, backlog=128) as listener:
        return make_server(
            host,
            port,
            _App(gateway),
            threaded=True,
            request_handler=_Handler,
            fd=listener.fileno(),
        )
