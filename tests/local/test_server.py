"""``tenantkit local`` as a subprocess, driven over HTTP, in both backend modes."""

from __future__ import annotations

import http.client
import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest

from tests.conftest import free_port, load_event, stop_pid

FIXTURES = Path(__file__).parent / "fixtures"
TEMPLATE = FIXTURES / "template.yaml"
SEED = FIXTURES / "seed.json"
SECRET = "fixture-secret-0123456789abcdef0123456789"


@dataclass
class Local:
    proc: subprocess.Popen[bytes]
    url: str
    stdout: Path
    stderr: Path

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> tuple[int, dict[str, list[str]], Any]:
        request = urllib.request.Request(self.url + path, data=body, method=method)  # noqa: S310 - loopback only
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        if token is not None:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                status, raw, header_items = response.status, response.read(), response.headers
        except urllib.error.HTTPError as error:
            status, raw, header_items = error.code, error.read(), error.headers
        collected: dict[str, list[str]] = {}
        for name, value in header_items.items():
            collected.setdefault(name.lower(), []).append(value)
        return status, collected, json.loads(raw) if raw else None

    def get(self, path: str, token: str | None = None) -> tuple[int, Any]:
        status, _, body = self.request("GET", path, token=token)
        return status, body

    def log(self) -> str:
        return self.stderr.read_text()


def start_local(tmp_path: Path, *args: str, timeout: float = 30.0) -> Local:
    port = free_port()
    stdout, stderr = tmp_path / f"out-{port}.txt", tmp_path / f"err-{port}.txt"
    command = [sys.executable, "-m", "tenantkit.cli", "local", *args, "--port", str(port)]
    with stdout.open("wb") as out, stderr.open("wb") as err:
        proc = subprocess.Popen(command, stdout=out, stderr=err)
    local = Local(proc, f"http://127.0.0.1:{port}", stdout, stderr)
    ready = f"tenantkit local: listening on http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while ready not in stdout.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_pid(proc)
            raise RuntimeError(f"tenantkit local did not start:\n{stderr.read_text()}")
        time.sleep(0.05)
    return local


def eventually(check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)


@pytest.fixture(scope="module", params=["in-process", "endpoint-url"])
def local(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Local]:
    args = [str(TEMPLATE), "--seed", str(SEED), "--print-tokens"]
    if request.param == "endpoint-url":
        endpoint: str = request.getfixturevalue("moto_server")
        reset = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")  # noqa: S310 - loopback only
        urllib.request.urlopen(reset, timeout=5).close()  # noqa: S310 - loopback only
        args += ["--endpoint-url", endpoint]
    server = start_local(tmp_path_factory.mktemp("local"), *args)
    try:
        yield server
    finally:
        stop_pid(server.proc)
    assert server.proc.returncode == 0, server.log()
    assert "tenantkit local: stopped" in server.log()


pytestmark = pytest.mark.integration


def test_readiness_health_and_tokens(local: Local) -> None:
    lines = local.stdout.read_text().splitlines()
    assert lines[-1].startswith("tenantkit local: listening on http://127.0.0.1:")
    tokens = {line.split()[1]: line.split()[2] for line in lines if line.startswith("token ")}
    assert set(tokens) == {"alice", "bob"}
    claims = jwt.decode(
        tokens["alice"],
        SECRET,
        algorithms=["HS256"],
        issuer="https://issuer.test",
        audience="fixture-api",
    )
    assert (claims["sub"], claims["email"], claims["given_name"]) == (
        "alice",
        "alice@example.com",
        "Alice",
    )
    assert local.get("/_local/health") == (
        200,
        {"status": "ok", "apis": {"Api": {"id": "api", "stage": "test"}}},
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/nowhere"),
        ("POST", "/echo/bob"),
        ("GET", "/files"),
        ("TRACE", "/echo/bob"),
    ],
)
def test_unknown_route_is_missing_authentication_token(
    local: Local, method: str, path: str
) -> None:
    status, headers, body = local.request(method, path, token="user-alice-texas")
    assert (status, body) == (403, {"message": "Missing Authentication Token"})
    assert headers["x-amzn-errortype"] == ["MissingAuthenticationTokenException"]


def test_missing_identity_source_is_401_without_calling_the_authorizer(local: Local) -> None:
    assert local.get("/echo/bob") == (401, {"message": "Unauthorized"})
    status, _, body = local.request("GET", "/echo/bob", headers={"Authorization": ""})
    assert (status, body) == (401, {"message": "Unauthorized"})
    assert local.get("/inspect/gate-calls?token=") == (200, 0)


def test_authorized_request_gets_a_v1_proxy_event(local: Local) -> None:
    status, headers, body = local.request(
        "GET", "/echo/bob?x=1&x=2", token="user-alice-texas", headers={"X-Tenant-Id": "evil"}
    )
    assert status == 200
    event = body["event"]
    sample = load_event("apiGatewayProxyEvent.json")
    assert set(sample) <= set(event)
    assert set(sample["requestContext"]) <= set(event["requestContext"])
    assert (event["resource"], event["path"], event["httpMethod"]) == (
        "/echo/{name}",
        "/echo/bob",
        "GET",
    )
    assert event["pathParameters"] == {"name": "bob"}
    assert event["queryStringParameters"] == {"x": "2"}
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"]}
    assert event["stageVariables"] == {"flavour": "local"}
    assert event["body"] is None
    context = event["requestContext"]
    assert (context["stage"], context["apiId"], context["path"]) == (
        "test",
        "api",
        "/test/echo/bob",
    )
    authorizer = context["authorizer"]
    assert authorizer["principalId"] == "alice"
    assert (authorizer["userId"], authorizer["tenantId"]) == ("alice", "texas")
    # API Gateway hands every context value over as a string.
    assert (authorizer["admin"], authorizer["ratio"]) == ("true", "1.5")
    assert authorizer["count"].isdigit()
    # The authorizer saw a REQUEST event shaped like API Gateway's.
    request_sample = load_event("apiGatewayAuthorizerRequestEvent.json")
    assert set(request_sample) <= set(json.loads(authorizer["eventKeys"]))
    assert authorizer["eventType"] == "REQUEST"
    assert authorizer["resource"] == "/echo/{name}"
    assert authorizer["stageFlavour"] == "local"
    assert authorizer["methodArn"] == (
        "arn:aws:execute-api:us-east-1:123456789012:api/test/GET/echo/bob"
    )
    assert body["env"]["GREETING"] == "hello"
    assert body["env"]["AWS_LAMBDA_FUNCTION_NAME"] == "tenantkit-local-AppFunction"
    assert 0 < body["remaining"] <= 5000
    assert headers["set-cookie"] == ["a=1", "b=2"]
    assert headers["x-one"] == ["1"]
    assert "user=alice tenant=texas" in local.log()


def test_cached_results_never_cross_identities(local: Local) -> None:
    """Each token gets its own authorizer result, even while another's is cached."""
    for _ in range(2):
        for user, tenant in (("erin", "texas"), ("fred", "washington")):
            status, body = local.get("/echo/x", token=f"user-{user}-{tenant}")
            authorizer = body["event"]["requestContext"]["authorizer"]
            assert (status, authorizer["userId"], authorizer["tenantId"]) == (200, user, tenant)


def test_greedy_proxy_path_with_any_method(local: Local) -> None:
    status, _, body = local.request(
        "PUT", "/files/a/b/c.txt", token="user-alice-texas", body=b'{"k": 1}'
    )
    assert status == 200
    event = body["event"]
    assert event["pathParameters"] == {"proxy": "a/b/c.txt"}
    assert (event["httpMethod"], event["body"]) == ("PUT", '{"k": 1}')


def test_head_answers_headers_only(local: Local) -> None:
    host, port = local.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("HEAD", "/files/a", headers={"Authorization": "Bearer user-alice-texas"})
        response = connection.getresponse()
        assert (response.status, response.read()) == (200, b"")
        assert int(response.headers["Content-Length"]) > 0
    finally:
        connection.close()


def test_attack_encoded_separator_over_http(local: Local) -> None:
    """The server hands the gateway the path as sent, not werkzeug's decoded PATH_INFO,
    so an encoded "/" cannot become a separator before the check sees it."""
    for path in ("/echo/a%2Fb", "/echo/a%2fb", "/echo/a%5Cb", "/open%2F"):
        status, body = local.get(path, token="user-alice-texas")
        assert status == 400, path
        assert body["message"].startswith("Bad request"), path
    assert local.get("/op%65n")[0] == 200  # other escapes are decoded, after splitting
    status, body = local.get("/echo/a%20b", token="user-alice-texas")
    assert (status, body["event"]["pathParameters"]) == (200, {"name": "a b"})


def test_unauthorized_exception_is_401(local: Local) -> None:
    assert local.get("/echo/bob", token="unauthorized") == (401, {"message": "Unauthorized"})


@pytest.mark.parametrize("token", ["boom", "nested", "null-context", "bad-policy"])
def test_authorizer_failures_are_500(local: Local, token: str) -> None:
    status, headers, body = local.request("GET", "/echo/bob", token=token)
    assert (status, body) == (500, {"message": None})
    assert headers["x-amzn-errortype"] == ["AuthorizerConfigurationException"]


def test_explicit_deny_wins_over_allow(local: Local) -> None:
    status, body = local.get("/echo/bob", token="deny-wins")
    assert status == 403
    assert body == {
        "Message": "User is not authorized to access this resource with an explicit deny"
    }
    # The same (cached) policy still allows what it does not deny.
    assert local.get("/files/x", token="deny-wins")[0] == 200


def test_policy_wildcards_and_implicit_deny(local: Local) -> None:
    assert local.get("/echo/bob", token="wildcard")[0] == 200
    assert local.get("/echo/bxb", token="wildcard")[0] == 200
    assert local.get("/echo/bobby", token="wildcard") == (
        403,
        {"Message": "User is not authorized to access this resource"},
    )
    assert local.get("/echo/bob", token="nobody")[0] == 403


def test_authorizer_result_is_cached_per_identity_for_its_ttl(local: Local) -> None:
    # The fixture authorizer allows "flip" on its first call and denies it afterwards.
    assert local.get("/echo/one", token="flip")[0] == 200
    assert local.get("/echo/two", token="flip")[0] == 200  # cached: no second call
    assert local.get("/inspect/gate-calls?token=flip")[1] == 1
    time.sleep(5.2)  # ReauthorizeEvery: 5, long enough for the two calls above on a busy machine
    assert local.get("/echo/one", token="flip")[0] == 403
    assert local.get("/inspect/gate-calls?token=flip")[1] == 2


@pytest.mark.parametrize(
    "kind", ["raise", "exit", "dict-body", "no-status", "extra-key", "not-json"]
)
def test_handler_failure_or_malformed_response_is_502(local: Local, kind: str) -> None:
    assert local.get(f"/malformed/{kind}") == (502, {"message": "Internal server error"})


def test_well_formed_response_passes(local: Local) -> None:
    assert local.get("/malformed/fine") == (200, {"kind": "fine"})


def test_backend_resources_and_seed(local: Local) -> None:
    assert local.get("/inspect/secret") == (200, {"signature": SECRET})
    assert local.get("/inspect/topic")[1].endswith(":tenantkit-local-events")
    status, item = local.get("/inspect/item?pk=plain%231")
    assert (status, item["count"], item["tags"]) == (
        200,
        {"N": "3"},
        {"L": [{"S": "a"}, {"S": "b"}]},
    )
    status, item = local.get("/inspect/item?pk=loader%231")
    assert status == 200
    assert item["greeting"] == {"S": "from the loader"}
    assert item["table"] == {"S": "tenantkit-local-Table"}
    assert item["label"] == {"S": "hello-api"}
    assert item["importedBy"] == {"S": "the seed loader"}
    # The function has its own copy of the module, not the one the loader imported.
    assert local.get("/inspect/state") == (200, "tenantkit-local-AppFunction")


def test_sqs_batches_partial_failures_and_redrive(local: Local) -> None:
    bodies = [f"ok-{i}" for i in range(7)] + ["poison-1"]
    status, _, _ = local.request("POST", "/enqueue", body=json.dumps(bodies).encode())
    assert status == 204

    def attempts(body: str) -> int:
        return int(local.get(f"/inspect/attempts?body={body}")[1])

    eventually(lambda: local.get("/inspect/dlq")[1] == ["poison-1"])
    # The poison message was tried maxReceiveCount (2) times, then moved to the DLQ.
    assert attempts("poison-1") == 2
    # The others succeeded once and were deleted, not redelivered with the failure.
    assert [attempts(b) for b in bodies[:-1]] == [1] * 7
    for body in bodies:
        status, item = local.get(f"/inspect/item?pk=msg%23{body}")
        assert 1 <= int(item["batchSize"]["N"]) <= 5  # BatchSize: 5
    assert "SQS WorkQueue -> WorkerFunction" in local.log()


# ------------------------------------------------------------------ start and stop


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tenantkit.cli", "local", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_sigint_stops_cleanly_and_overrides_apply(tmp_path: Path) -> None:
    server = start_local(tmp_path, str(TEMPLATE), "--parameter-overrides", "Greeting=howdy")
    try:
        status, body = server.get("/open")
        assert status == 200
        assert body["env"]["GREETING"] == "howdy"
        server.proc.send_signal(signal.SIGINT)
        assert server.proc.wait(timeout=10) == 0
    finally:
        stop_pid(server.proc)
    assert "tenantkit local: stopped" in server.log()
    assert "Traceback" not in server.log()


def test_unsupported_construct_fails_at_start(tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(
        TEMPLATE.read_text().replace("Tracing: Active", "Layers: [arn:aws:lambda:layer]")
    )
    (tmp_path / "app").symlink_to(FIXTURES / "app")
    result = run_cli(str(template), "--port", str(free_port()))
    assert result.returncode == 1
    assert "Resources.AppFunction.Properties.Layers: property not supported" in result.stderr
    assert "Traceback" not in result.stderr
    assert "listening" not in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--parameter-overrides", "Greeting=bonjour"], "Parameters.Greeting: value is not one"),
        (["--parameter-overrides", "Greeting"], "--parameter-overrides takes KEY=VALUE"),
        (["--print-tokens"], "--print-tokens needs --seed"),
    ],
)
def test_bad_arguments_fail_cleanly(args: list[str], message: str) -> None:
    result = run_cli(str(TEMPLATE), "--port", str(free_port()), *args)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_extra_names_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib.util

    from tenantkit.cli import main

    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    assert main(["local", str(TEMPLATE)]) == 2
    assert "pip install 'tenantkit[local]'" in capsys.readouterr().err


# ------------------------------------------------------------------ request smuggling


def raw_exchange(local: Local, payload: bytes) -> bytes:
    """Send ``payload`` on one raw connection and read until the server closes it."""
    host, port = local.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(payload)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


def smuggled() -> tuple[str, bytes]:
    """A second request with a path that appears in the access log only if it runs."""
    path = f"/smuggled-{uuid.uuid4().hex}"
    return path, f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()


@pytest.mark.parametrize(
    "framing",
    [
        "Transfer-Encoding: Chunked\r\n",
        "Transfer-Encoding: CHUNKED\r\n",
        "Transfer-Encoding: chunked\r\n",
        "Transfer-Encoding: gzip, chunked\r\n",
        "Transfer-Encoding: identity\r\n",
        "transfer-encoding: cHuNkEd\r\n",
        "Transfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n",
        "Content-Length: 0\r\nTransfer-Encoding: Chunked\r\n",
    ],
)
def test_attack_smuggling_through_transfer_encoding(local: Local, framing: str) -> None:
    """A body the server does not frame must never run as a second request."""
    path, second = smuggled()
    head = f"POST /enqueue HTTP/1.1\r\nHost: x\r\n{framing}\r\n".encode()
    received = raw_exchange(local, head + second)
    assert received.count(b"HTTP/1.1 ") == 1, received
    assert received.startswith(b"HTTP/1.1 501 ")
    assert b"\r\nconnection: close\r\n" in received.lower()
    assert path not in local.log()


@pytest.mark.parametrize(
    "framing",
    [
        "Content-Length: 5\r\nContent-Length: 0\r\n",  # two lengths: which one frames it?
        "Content-Length: +0\r\n",
        "Content-Length: 0_0\r\n",
        "Content-Length:  0 0\r\n",
        "Content-Length: -1\r\n",
        "Content-Length: x\r\n",
    ],
)
def test_attack_smuggling_through_ambiguous_content_length(local: Local, framing: str) -> None:
    path, second = smuggled()
    head = f"POST /enqueue HTTP/1.1\r\nHost: x\r\n{framing}\r\n".encode()
    received = raw_exchange(local, head + second)
    assert received.count(b"HTTP/1.1 ") == 1, received
    assert received.startswith(b"HTTP/1.1 400 ")
    assert b"\r\nconnection: close\r\n" in received.lower()
    assert path not in local.log()


def test_a_well_framed_body_is_served_on_a_connection_of_its_own(local: Local) -> None:
    """The refusals above are about framing: a plain Content-Length body still works.
    werkzeug answers one request per connection, so what follows it on the connection
    never runs; the same request on a connection of its own does."""
    path, second = smuggled()
    first = b"POST /enqueue HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n[]"
    received = raw_exchange(local, first + second)
    assert received.count(b"HTTP/1.1 ") == 1, received
    assert received.startswith(b"HTTP/1.1 204 ")
    assert b"\r\nconnection: close\r\n" in received.lower()
    assert path not in local.log()
    assert raw_exchange(local, second).startswith(b"HTTP/1.1 403 ")
    assert f"GET {path} 403" in local.log()


@pytest.mark.parametrize(
    "framing",
    [
        "Content-Length : 5\r\n",  # space before the colon (RFC 9112 section 5.1: 400)
        "Transfer-Encoding\t: chunked\r\n",
        "Content Length: 5\r\n",  # not a field-name token
        "X-Pad: a\r\n Transfer-Encoding: chunked\r\n",  # obs-fold (RFC 9112 section 5.2: 400)
        "X-Pad: a\r\n\tContent-Length: 5\r\n",
    ],
)
def test_attack_malformed_framing_headers_are_refused(local: Local, framing: str) -> None:
    """A header that one parser reads as framing and another ignores is a 400, never a
    request served with a guessed body."""
    path, second = smuggled()
    head = f"POST /enqueue HTTP/1.1\r\nHost: x\r\n{framing}\r\n".encode()
    received = raw_exchange(local, head + b"[]..." + second)
    assert received.count(b"HTTP/1.1 ") == 1, received
    assert received.startswith(b"HTTP/1.1 400 "), received
    assert b"\r\nconnection: close\r\n" in received.lower()
    assert path not in local.log()
