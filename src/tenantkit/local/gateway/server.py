"""The HTTP server in front of the gateway."""

from __future__ import annotations

import sys
import time
import traceback
import urllib.parse
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tenantkit.local.gateway.core import Gateway
from tenantkit.local.gateway.messages import Refusal, Request, json_response

__all__ = ["MAX_BODY", "serve"]

MAX_BODY = 10 * 1024 * 1024


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
        raise Refusal(
            json_response(
                501, {"message": "Transfer-Encoding is not supported; send Content-Length"}
            )
        )
    lengths = {
        value.strip() for name, value in headers.items() if name.strip().lower() == "content-length"
    }
    if not lengths:
        return 0
    text = lengths.pop()
    if lengths or not (text.isascii() and text.isdigit()):
        raise Refusal(json_response(400, {"message": "Bad request body"}))
    if len(text) > len(str(MAX_BODY)) or int(text) > MAX_BODY:
        raise Refusal(json_response(413, {"message": "Request body too large"}))
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
                raise Refusal(json_response(400, {"message": "Bad request body"}))
        except Refusal as failure:
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
                response = json_response(500, {"message": "Internal server error"})
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
