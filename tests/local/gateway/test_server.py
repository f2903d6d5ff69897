"""Response headers on the wire: text beyond latin-1 as UTF-8 bytes, and no value or name
that would end its header line early (response splitting), whatever a template or a
function's proxy response writes into them."""

from __future__ import annotations

import http.client
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from tenantkit.local.gateway import Gateway, serve
from tests.local.gateway.conftest import gateway_of

TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: echo_header.handler
      Runtime: python3.12
      CodeUri: .
      Events:
        Header: {Type: Api, Properties: {Path: /header, Method: get}}
"""

#: A function whose proxy response carries the header the query names (JSON strings).
ECHO_HEADER = (
    "import json\n\n\ndef handler(event, context):\n"
    "    query = event['queryStringParameters']\n"
    "    header = {json.loads(query['n']): json.loads(query['v'])}\n"
    "    return {'statusCode': 200, 'headers': header, 'body': 'ok'}\n"
)


@pytest.fixture(scope="module")
def port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    directory: Path = tmp_path_factory.mktemp("server")
    with gateway_of(directory, TEMPLATE, {"echo_header": ECHO_HEADER}) as gateway:
        yield from _served(gateway)


def _served(gateway: Gateway) -> Iterator[int]:
    server = serve(gateway, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def get(port: int, name: str, value: str) -> http.client.HTTPResponse:
    query = urllib.parse.urlencode({"n": f'"{name}"', "v": f'"{value}"'})
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", f"/header?{query}")
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def test_a_header_value_beyond_latin1_goes_out_as_utf8(port: int) -> None:
    response = get(port, "X-Name", "caf\\u00e9 \\u65e5\\u672c")
    assert response.status == 200
    assert str(response.getheader("X-Name")).encode("latin-1").decode() == "caf\u00e9 \u65e5\u672c"


def test_an_unpaired_surrogate_in_a_header_goes_out_as_java_encodes_it(port: int) -> None:
    response = get(port, "X-Name", "a\\ud800")
    assert (response.status, response.getheader("X-Name")) == (200, "a?")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("X-Name", "a\\r\\nX-Injected: 1"),
        ("X-Name", "a\\nX-Injected: 1"),
        ("X-Name", "a\\rX-Injected: 1"),
        ("X-Name", "a\\u0000b"),
        ("X-Injected: 1\\r\\nX-Name", "a"),
        ("X Name", "a"),
    ],
)
def test_attack_a_header_that_would_split_the_response_is_a_502(
    port: int, name: str, value: str
) -> None:
    response = get(port, name, value)
    assert response.status == 502
    assert response.getheader("X-Injected") is None
