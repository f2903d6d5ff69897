"""Two ways to drive the state-parks app.

``app`` (:class:`StateParks`): the Lambda routes in-process on ``mock_aws``. ``call`` does
what API Gateway does for a REST API with a Lambda REQUEST authorizer: it builds the
authorizer event, calls ``authorizer.handler``, evaluates the returned policy against the
method ARN (an explicit Deny wins), then builds the v1 proxy event with the authorizer's
context stringified as API Gateway does, plus ``principalId``, and calls the function the
API's definition routes the request to. Tests can reach inside (a fake resolver, cold
starts, a policy skipped for defence-in-depth checks).

``served`` (:class:`Served`): the whole template under ``tenantkit local``'s gateway,
started in this process and called over HTTP on loopback: the generated
``definition.yaml`` with its VTL, validators and direct DynamoDB and Step Functions
integrations, the state machine on moto's interpreter, the functions in worker
processes. The direct routes exist only there. It runs on a loopback moto server, whose
backends are this process's own: never use both fixtures in one module (``mock_aws``
resets those backends).
"""

from __future__ import annotations

import copy
import functools
import importlib
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import boto3
import jwt
import pytest
import yaml
from moto import mock_aws

from tests._shared.model import policy_allows
from tests.conftest import load_event

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "state_parks"
APP = EXAMPLE / "app"
if str(APP) not in sys.path:
    sys.path.insert(0, str(APP))

JWT_SECRET = "test-only-signing-secret-0123456789abcdef"
ISSUER = "https://auth.state-parks.example"
AUDIENCE = "state-parks-api"
API_ARN = "arn:aws:execute-api:us-east-1:123456789012:parksapi1/v1"
SEED_USERS = ("alice", "bob", "carol", "dave")


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation YAML; short-form tags (!Ref, !Sub ...) become plain values."""


_CfnLoader.add_multi_constructor(
    "!",
    lambda loader, suffix, node: (
        loader.construct_scalar(node)
        if isinstance(node, yaml.ScalarNode)
        else loader.construct_sequence(node)
        if isinstance(node, yaml.SequenceNode)
        else loader.construct_mapping(node)
    ),
)


@functools.cache
def _template_text() -> str:
    return (EXAMPLE / "template.yaml").read_text()


def load_template() -> dict[str, Any]:
    template: dict[str, Any] = yaml.load(_template_text(), Loader=_CfnLoader)  # noqa: S506
    return template


def load_definition() -> dict[str, Any]:
    """The API's OpenAPI document, as the template includes it."""
    api = load_template()["Resources"]["ParksApi"]["Properties"]
    location = api["DefinitionBody"]["Fn::Transform"]["Parameters"]["Location"]
    definition: dict[str, Any] = yaml.safe_load((EXAMPLE / location).read_text())
    return definition


def template_routes() -> dict[tuple[str, str], str | None]:
    """``(METHOD, /path/{param})`` -> the ``module.function`` of its Lambda proxy
    integration, or ``None`` for a direct integration (API Gateway to a service)."""
    resources = load_template()["Resources"]
    routes: dict[tuple[str, str], str | None] = {}
    for path, item in load_definition()["paths"].items():
        for method, operation in item.items():
            integration = operation["x-amazon-apigateway-integration"]
            handler = None
            if integration["type"] == "aws_proxy":
                function = integration["uri"]["Fn::Sub"][1]["Function"]["Fn::GetAtt"][0]
                handler = resources[function]["Properties"]["Handler"]
            routes[(method.upper(), path)] = handler
    return routes


def lambda_routes() -> list[tuple[str, str]]:
    return sorted(route for route, handler in template_routes().items() if handler)


def direct_routes() -> list[tuple[str, str]]:
    return sorted(route for route, handler in template_routes().items() if handler is None)


def function_environments() -> dict[str, set[str]]:
    """``module.function`` handler -> the environment variable names its function gets."""
    template = load_template()
    shared = set(template["Globals"]["Function"]["Environment"]["Variables"])
    found = {}
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            own = resource["Properties"].get("Environment", {}).get("Variables", {})
            found[resource["Properties"]["Handler"]] = shared | set(own)
    return found


def resolve(handler: str) -> Any:
    module, function = handler.rsplit(".", 1)
    return getattr(importlib.import_module(module), function)


def stringify(value: object) -> str:
    """How API Gateway hands authorizer context values to the integration."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass
class Response:
    status: int
    body: Any
    headers: dict[str, str]


def make_token(user: str, **claims: Any) -> str:
    now = int(time.time())
    payload = {"sub": user, "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 600}
    payload.update(claims)
    return jwt.encode(payload, JWT_SECRET, algorithm="HS256")


class FakeDns:
    """Webhook host names -> addresses, in place of the example's system resolver.

    No test performs real DNS: names under example.com answer with a public address,
    ``records`` overrides that, and every other name does not resolve.
    """

    def __init__(self) -> None:
        self.records: dict[str, list[str]] = {}

    def __call__(self, host: str) -> list[str]:
        if host in self.records:
            return self.records[host]
        if host.endswith(".example.com"):
            return ["93.184.216.34"]
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


class StateParks:
    """Drives the app the way API Gateway would, against moto."""

    def __init__(self, values: dict[str, str]) -> None:
        self.dns = FakeDns()
        self.routes = template_routes()
        self.environments = function_environments()
        self.values = values
        self.authorizer_calls = 0
        # True: forget every cached client before each invocation, as a new Lambda
        # instance would, so a variable a function lacks cannot hide behind a cache.
        self.cold_starts = False

    def invoke(self, handler: str, event: dict[str, Any]) -> Any:
        """Run ``handler`` with exactly its function's environment variables, as Lambda does."""
        import config

        names = set().union(*self.environments.values())
        saved = {name: os.environ.pop(name) for name in names if name in os.environ}
        os.environ.update({n: self.values[n] for n in self.environments[handler]})
        try:
            if self.cold_starts:
                config.reset()
            return resolve(handler)(event, None)
        finally:
            for name in names:
                os.environ.pop(name, None)
            os.environ.update(saved)

    def authorize(
        self,
        authorization: str | None,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """A REQUEST authorizer event as API Gateway builds it: the caller's headers,
        query string and path parameters included, so a spoof reaches the authorizer too."""
        sent = dict(headers or {})
        if authorization:
            sent["Authorization"] = authorization
        event = load_event("apiGatewayAuthorizerRequestEvent.json")
        event.update(
            methodArn=f"{API_ARN}/{method}{path}",
            identitySource=authorization,
            authorizationToken=authorization,
            resource=path,
            path=path,
            httpMethod=method,
            headers=sent,
            multiValueHeaders={name: [value] for name, value in sent.items()},
            queryStringParameters=dict(query or {}),
            multiValueQueryStringParameters={k: [v] for k, v in (query or {}).items()},
            pathParameters=dict(params or {}),
        )
        self.authorizer_calls += 1
        # A fresh authorizer container per request: the deployed one keeps user records
        # and tenant statuses a few seconds (app/config.py), which tests here would have
        # to wait out after every switch; the served tests (test_statuses.py) do.
        import config

        config.authorizer.cache_clear()
        config.tenant_statuses.cache_clear()
        result: dict[str, Any] = self.invoke("authorizer.handler", event)
        return result

    def call(
        self,
        user: str | None,
        method: str,
        resource: str,
        params: dict[str, str] | None = None,
        *,
        body: Any = None,
        raw_body: str | None = None,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        token: str | None = None,
        skip_policy: bool = False,
    ) -> Response:
        """One request; ``skip_policy`` ignores the authorizer's policy (defence-in-depth tests)."""
        params = params or {}
        path = sent_path = resource
        for name, value in params.items():
            path = path.replace("{" + name + "}", value)
            # A REST API's event keeps the path as the client sent it, percent-encoded;
            # pathParameters hold the decoded values.
            sent_path = sent_path.replace("{" + name + "}", quote(value, safe=""))
        if token is None and user is not None:
            token = make_token(user)
        authorization = f"Bearer {token}" if token else None
        if authorization is None:
            return Response(401, {"message": "Unauthorized"}, {})
        try:
            result = self.authorize(
                authorization, method, path, headers=headers, query=query, params=params
            )
        except Exception as error:
            # API Gateway answers 401 for exactly this; anything else is a 500.
            status = 401 if str(error) == "Unauthorized" else 500
            return Response(status, {"message": str(error)}, {})
        allowed = policy_allows(result["policyDocument"], f"{API_ARN}/{method}{path}")
        if not allowed and not skip_policy:
            return Response(403, {"message": "User is not authorized to access this resource"}, {})
        context = {k: stringify(v) for k, v in result.get("context", {}).items()}
        context["principalId"] = result["principalId"]

        event = load_event("apiGatewayProxyEvent.json")
        event_headers = {"Authorization": authorization, **(headers or {})}
        event.update(
            resource=resource,
            path=sent_path,
            httpMethod=method,
            headers=event_headers,
            multiValueHeaders={k: [v] for k, v in event_headers.items()},
            queryStringParameters=query or None,
            multiValueQueryStringParameters={k: [v] for k, v in (query or {}).items()} or None,
            pathParameters=params or None,
            body=raw_body if raw_body is not None else (None if body is None else json.dumps(body)),
            isBase64Encoded=False,
        )
        event["requestContext"] = copy.deepcopy(event["requestContext"])
        event["requestContext"].update(
            authorizer=context,
            httpMethod=method,
            path=f"/v1{sent_path}",
            resourcePath=resource,
            stage="v1",
            requestId=f"req-{time.monotonic_ns()}",
        )
        handler = self.routes[(method, resource)]
        assert handler is not None, f"{method} {resource} is direct: use the `served` fixture"
        raw = self.invoke(handler, event)
        text = raw.get("body") or ""
        headers = dict(raw.get("headers") or {})
        headers.update({k: v[-1] for k, v in (raw.get("multiValueHeaders") or {}).items() if v})
        return Response(raw["statusCode"], json.loads(text) if text else None, headers)


class Receiver:
    """A webhook endpoint on a loopback port that records what it is sent."""

    def __init__(self) -> None:
        received: list[dict[str, Any]] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                received.append(
                    {"path": self.path, "body": json.loads(self.rfile.read(length) or b"null")}
                )
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.received = received
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def notifications(self, path: str) -> list[dict[str, Any]]:
        """The SNS notifications (their ``Message`` parsed) posted to ``path``."""
        return [
            json.loads(r["body"]["Message"])
            for r in self.received
            if r["path"] == path and r["body"].get("Type") == "Notification"
        ]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def receiver(app: StateParks) -> Iterator[Receiver]:
    """A loopback webhook receiver; the app runs as with AllowLocalWebhooks=true."""
    app.values["ALLOW_LOCAL_WEBHOOKS"] = "true"
    server = Receiver()
    try:
        yield server
    finally:
        server.close()


def _create_backend(env: dict[str, str]) -> None:
    template = load_template()
    table = template["Resources"]["ParksTable"]["Properties"]
    dynamodb = boto3.client("dynamodb")
    created = dynamodb.create_table(
        TableName=env["TABLE_NAME"],
        BillingMode=table["BillingMode"],
        AttributeDefinitions=table["AttributeDefinitions"],
        KeySchema=table["KeySchema"],
        GlobalSecondaryIndexes=table["GlobalSecondaryIndexes"],
    )
    env["TABLE_ARN"] = created["TableDescription"]["TableArn"]
    env["TENANT_DATA_ROLE_ARN"] = "arn:aws:iam::123456789012:role/state-parks-tenant-data"
    env["JWT_SECRET_ID"] = boto3.client("secretsmanager").create_secret(
        Name="jwt_secret_id", SecretString=json.dumps({"signature": JWT_SECRET})
    )["ARN"]


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> Iterator[StateParks]:
    """A fresh moto account with the template's resources and the seed loaded."""
    import config
    import seed

    env = {
        "TABLE_NAME": "state-parks",
        "JWT_ISSUER": ISSUER,
        "JWT_AUDIENCE": AUDIENCE,
        "TOPIC_PREFIX": "stateparks",
        "ALLOW_LOCAL_WEBHOOKS": "false",
    }
    config.reset()
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)  # mock_aws intercepts AWS hosts
    with mock_aws():
        _create_backend(env)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        with (EXAMPLE / "seed.json").open() as f:
            seed.load(json.load(f), None)
        parks = StateParks(env)
        monkeypatch.setattr(config, "resolve_webhook_host", parks.dns)
        try:
            yield parks
        finally:
            config.reset()


@pytest.fixture
def texas_member(app: StateParks) -> str:
    """``mia``: signs up, is added to texas as a member by alice, and switches to it."""
    assert app.call("mia", "GET", "/settings").status == 200
    added = app.call(
        "alice",
        "POST",
        "/customers/{customerId}/members",
        {"customerId": "texas"},
        body={"userId": "mia", "roles": ["member"]},
    )
    assert added.status == 204
    assert app.call("mia", "PUT", "/settings", body={"customerId": "texas"}).status == 204
    return "mia"


class Served:
    """The template under ``tenantkit local``'s gateway, called over HTTP on loopback."""

    def __init__(self, url: str, backend: Any, runtime: Any, table: str) -> None:
        self.url = url
        self.backend = backend
        self.runtime = runtime
        self.table = table
        self._tenants = 0

    def call(
        self,
        user: str | None,
        method: str,
        resource: str,
        params: dict[str, str] | None = None,
        *,
        body: Any = None,
        raw_body: str | bytes | None = None,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        token: str | None = None,
    ) -> Response:
        import urllib.error
        import urllib.request
        from urllib.parse import urlencode

        path = resource
        for name, value in (params or {}).items():
            path = path.replace("{" + name + "}", quote(value, safe=""))
        if query:
            path += "?" + urlencode(query)
        sent = dict(headers or {})
        if token is None and user is not None:
            token = make_token(user)
        if token:
            sent["Authorization"] = f"Bearer {token}"
        raw = raw_body if raw_body is not None else b"" if body is None else json.dumps(body)
        data = raw.encode() if isinstance(raw, str) else raw
        with_body = method in {"POST", "PUT"}
        if with_body:  # else urllib would send its own form content type
            sent["Content-Type"] = "application/json"
        request = urllib.request.Request(  # noqa: S310 - the loopback server above
            self.url + path, data=data if with_body else None, method=method
        )
        for name, value in sent.items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310
                status, text, got = answer.status, answer.read(), dict(answer.headers)
        except urllib.error.HTTPError as error:
            status, text, got = error.code, error.read(), dict(error.headers)
        parsed = json.loads(text) if text.strip() else None
        return Response(status, parsed, got)

    def client(self, service: str) -> Any:
        return self.backend.client(service)

    def new_tenant(self, prefix: str = "state") -> tuple[str, str]:
        """A fresh tenant whose admin is a fresh user, provisioned as the seed does it
        (so the authorizer knows them from their first request): ``(tenant, admin)``."""
        from tenantkit.auth import UserDirectory

        self._tenants += 1
        tenant, admin = f"{prefix}-{self._tenants}", f"{prefix}-admin-{self._tenants}"
        directory = UserDirectory(self.table, client=self.client("dynamodb"))
        directory.create_user(admin)
        directory.provision_membership(tenant, admin, ["admin"])
        directory.set_active_tenant(user_id=admin, tenant_id=tenant)
        return tenant, admin


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    """The example under the local gateway on a loopback port, seeded, for a whole module
    (it takes seconds): what `tenantkit local` serves, in this process."""
    from tenantkit.local.backend import Backend
    from tenantkit.local.functions import Runtime
    from tenantkit.local.gateway import Gateway, serve
    from tenantkit.local.seed import load_seed, seed_backend
    from tenantkit.local.stack import build_stack
    from tenantkit.local.template import parse_template

    overrides = {"JwtSecret": JWT_SECRET, "AllowLocalWebhooks": "true"}
    template = parse_template(EXAMPLE / "template.yaml", overrides)
    backend = Backend()
    backend.start()
    try:
        stack = build_stack(template, backend)
        seed_path = EXAMPLE / "seed.json"
        # The loader runs here, with the app's config; if this process already imported
        # it (another module's tests), its clients still name an earlier backend.
        if "config" in sys.modules:
            sys.modules["config"].reset()
        seed_backend(load_seed(seed_path), seed_path, stack, backend)
        runtime = Runtime(stack.functions)
        runtime.load()
        backend.serve_lambda(runtime)
        server = serve(Gateway(stack, runtime), "127.0.0.1", 0)
        serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
        serving.start()
        try:
            url = f"http://127.0.0.1:{server.server_address[1]}"
            yield Served(url, backend, runtime, stack.attributes["ParksTable"].ref)
        finally:
            server.shutdown()
            server.server_close()
            serving.join()
            runtime.close()
    finally:
        backend.stop()
