"""Gateway pieces without HTTP: routing, response mapping, partial batch responses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tenantkit.local.backend import Backend
from tenantkit.local.functions import FunctionSpec, InvocationError, Runtime
from tenantkit.local.gateway import Gateway, Request
from tenantkit.local.gateway.authorizer import method_arn
from tenantkit.local.gateway.integrations.lambda_proxy import proxy_response
from tenantkit.local.gateway.router import Router
from tenantkit.local.queues import failed_message_ids
from tenantkit.local.stack import Stack, build_stack
from tenantkit.local.template import TemplateError, parse_template

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    backend = Backend()
    backend.start()
    try:
        yield build_stack(parse_template(FIXTURES / "template.yaml"), backend)
    finally:
        backend.stop()


@pytest.fixture(scope="module")
def gateway(stack: Stack) -> Gateway:
    runtime = Runtime(stack.functions)
    runtime.load()
    return Gateway(stack, runtime)


def test_stack_resolves_functions_routes_and_sources(stack: Stack) -> None:
    app = stack.functions["AppFunction"]
    assert app.environment["GREETING"] == "hello"
    assert app.environment["TABLE_NAME"] == "tenantkit-local-Table"
    assert app.environment["LABEL"] == "hello-api"
    assert app.environment["DESCRIPTION"] == (
        "tenantkit-local in us-east-1 with "
        "arn:aws:dynamodb:us-east-1:123456789012:table/tenantkit-local-Table"
    )
    assert app.environment["QUEUE_URL"].endswith("/tenantkit-local-WorkQueue")
    assert app.environment["SECRET_ARN"].startswith(
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:tenantkit-local-Secret-"
    )
    assert app.environment["TOPIC_ARN"].endswith(":tenantkit-local-events")
    (source,) = stack.sqs_sources
    assert (source.function, source.queue, source.batch_size) == ("WorkerFunction", "WorkQueue", 5)
    assert source.report_failures
    open_route = next(r for r in stack.routes if r.path == "/open")
    assert open_route.authorizer is None
    echo = next(r for r in stack.routes if r.path == "/echo/{name}")
    assert echo.authorizer is not None
    assert (echo.authorizer.headers, echo.authorizer.ttl) == (("Authorization",), 5)


@pytest.mark.parametrize(
    ("method", "path", "resource", "params"),
    [
        ("GET", "/echo/bob", "/echo/{name}", {"name": "bob"}),
        ("GET", "/echo/me", "/echo/me", {}),  # a literal segment beats {name}
        ("GET", "/echo/bob/", "/echo/{name}", {"name": "bob"}),
        ("GET", "/files/a", "/files/{proxy+}", {"proxy": "a"}),
        ("DELETE", "/files/a/b/c.txt", "/files/{proxy+}", {"proxy": "a/b/c.txt"}),
        ("GET", "/files", None, None),  # {proxy+} needs at least one segment
        ("POST", "/echo/bob", None, None),  # the resource exists, the method does not
        ("GET", "/echo", None, None),
        ("GET", "/echo/bob/extra", None, None),
        ("GET", "/", None, None),
        ("GET", "/echo//bob", None, None),  # an empty segment reaches no resource
        ("GET", "/files/a//b", None, None),
        ("GET", "//echo/bob", None, None),
    ],
)
def test_routing(
    gateway: Gateway, method: str, path: str, resource: str | None, params: Any
) -> None:
    found = gateway.router.route(method, path)
    if resource is None:
        assert found is None
        return
    assert found is not None
    assert (found[0].path, found[1]) == (resource, params)


BACKTRACK_TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Runtime: python3.12
      CodeUri: .
      Events:
        Param: {Type: Api, Properties: {Path: "/a/{x}", Method: get}}
        Literal: {Type: Api, Properties: {Path: /a/b, Method: post}}
        Deep: {Type: Api, Properties: {Path: /a/b/c, Method: get}}
        Greedy: {Type: Api, Properties: {Path: "/a/{rest+}", Method: any}}
"""


@pytest.mark.parametrize(
    ("method", "path", "key", "params"),
    [
        # /a/b has no GET: the literal branch gives way to /a/{x}, as _shared.apigw routes
        # (and so as the role map's policies assume).
        ("GET", "/a/b", "GET /a/{x}", {"x": "b"}),
        ("POST", "/a/b", "POST /a/b", {}),
        ("GET", "/a/b/c", "GET /a/b/c", {}),
        ("GET", "/a/b/d", "ANY /a/{rest+}", {"rest": "b/d"}),
        ("POST", "/a/c", "ANY /a/{rest+}", {"rest": "c"}),
        ("GET", "/a/%62", "GET /a/{x}", {"x": "b"}),  # decoded after splitting
    ],
)
def test_routing_follows_the_shared_model(
    tmp_path: Path, method: str, path: str, key: str, params: dict[str, str]
) -> None:
    (tmp_path / "app.py").write_text("def handler(event, context):\n    return None\n")
    (tmp_path / "template.yaml").write_text(BACKTRACK_TEMPLATE)
    backend = Backend()
    backend.start()
    try:
        stack = build_stack(parse_template(tmp_path / "template.yaml"), backend)
    finally:
        backend.stop()
    found = Router(stack.routes).route(method, path)
    assert found is not None
    assert (found[0].route.key, found[1]) == (key, params)


@pytest.mark.parametrize("path", ["/a/{x-y}", "/a/b,c", "/a/{rest+}/b", "/a/*"])
def test_paths_outside_the_shared_grammar_fail_at_start(tmp_path: Path, path: str) -> None:
    (tmp_path / "template.yaml").write_text(
        "Transform: AWS::Serverless-2016-10-31\nResources:\n  Fn:\n"
        "    Type: AWS::Serverless::Function\n    Properties:\n      Handler: app.handler\n"
        "      Runtime: python3.12\n      CodeUri: .\n      Events:\n        E:\n"
        f"          Type: Api\n          Properties: {{Path: '{path}', Method: get}}\n"
    )
    backend = Backend()
    backend.start()
    try:
        with pytest.raises(TemplateError, match=r"Events.E.Properties.Path: .* is not an API"):
            build_stack(parse_template(tmp_path / "template.yaml"), backend)
    finally:
        backend.stop()


def test_method_arn(gateway: Gateway) -> None:
    found = gateway.router.route("GET", "/echo/bob")
    assert found is not None
    assert method_arn(gateway.stack, found[0], "GET", "/echo/bob") == (
        "arn:aws:execute-api:us-east-1:123456789012:api/test/GET/echo/bob"
    )


def test_handle_without_http(gateway: Gateway) -> None:
    request = Request("GET", "/open", [("q", "1"), ("q", "2")], [("Host", "h")], b"")
    response = gateway.handle(request)
    assert response.status == 200
    event = json.loads(response.body)["event"]
    assert event["queryStringParameters"] == {"q": "2"}
    assert event["multiValueQueryStringParameters"] == {"q": ["1", "2"]}
    assert "authorizer" not in event["requestContext"]
    assert event["requestContext"]["path"] == "/test/open"


def test_proxy_response_mapping() -> None:
    response = proxy_response(
        {
            "statusCode": 201,
            "headers": {"X-A": "1", "X-B": 2, "Set-Cookie": "ignored"},
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
            "body": "aGVsbG8=",
            "isBase64Encoded": True,
        }
    )
    assert response.status == 201
    assert response.body == b"hello"
    assert ("Set-Cookie", "a=1") in response.headers
    assert ("Set-Cookie", "b=2") in response.headers
    assert ("Set-Cookie", "ignored") not in response.headers
    assert ("X-B", "2") in response.headers
    assert ("Content-Type", "application/json") in response.headers
    assert proxy_response({"statusCode": 204}).body == b""


@pytest.mark.parametrize(
    "result",
    [
        None,
        "ok",
        {"statusCode": "200"},
        {"statusCode": True},
        {"statusCode": 99},
        {"body": "x"},
        {"statusCode": 200, "body": {"a": 1}},
        {"statusCode": 200, "surprise": 1},
        {"statusCode": 200, "headers": ["x"]},
        {"statusCode": 200, "headers": {"X": {"nested": 1}}},
        {"statusCode": 200, "multiValueHeaders": {"X": "not-a-list"}},
        {"statusCode": 200, "body": "!!", "isBase64Encoded": True},
        {"statusCode": 200, "isBase64Encoded": "yes"},
    ],
)
def test_malformed_proxy_responses(result: Any) -> None:
    with pytest.raises(ValueError, match=r"."):
        proxy_response(result)


IDS = ["m1", "m2", "m3"]


@pytest.mark.parametrize(
    ("result", "failed"),
    [
        (None, set()),
        ({}, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": None}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "m2"}]}, {"m2"}),
        ({"batchItemFailures": [{"itemIdentifier": "m9"}]}, set(IDS)),  # unknown id
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, set(IDS)),
        ({"batchItemFailures": [{"itemIdentifier": None}]}, set(IDS)),
        ({"batchItemFailures": [{"id": "m1"}]}, set(IDS)),
        ({"batchItemFailures": "m1"}, set(IDS)),
        ("garbage", set(IDS)),
    ],
)
def test_partial_batch_responses(result: Any, failed: set[str]) -> None:
    assert failed_message_ids(result, IDS) == failed


def test_routes_claiming_the_same_request_fail_at_start(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("def handler(event, context):\n    return None\n")
    events = "\n".join(
        f"        E{i}:\n          Type: Api\n          Properties: {{Path: '{p}', Method: get}}"
        for i, p in enumerate(["/a/{x}", "/a/{y}"])
    )
    (tmp_path / "template.yaml").write_text(
        "Transform: AWS::Serverless-2016-10-31\nResources:\n  Fn:\n"
        "    Type: AWS::Serverless::Function\n    Properties:\n      Handler: app.handler\n"
        f"      Runtime: python3.12\n      CodeUri: .\n      Events:\n{events}\n"
    )
    backend = Backend()
    backend.start()
    try:
        with pytest.raises(TemplateError, match=r"Events.E1: GET /a/\{y\} is already served"):
            build_stack(parse_template(tmp_path / "template.yaml"), backend)
    finally:
        backend.stop()


def test_each_function_has_its_own_copy_of_its_code(tmp_path: Path) -> None:
    """A module two functions share is imported once per function, under its environment."""
    (tmp_path / "tklocal_shared.py").write_text("import os\n\nNAME = os.environ.get('NAME')\n")
    for name in ("first", "second"):
        (tmp_path / f"tklocal_{name}.py").write_text(
            "import os\n\nimport tklocal_shared\n\n\ndef handler(event, context):\n"
            "    return {'imported': tklocal_shared.NAME, 'now': os.environ.get('NAME')}\n"
        )
    specs = {
        name: FunctionSpec(
            name,
            name,
            f"arn:{name}",
            f"tklocal_{name}.handler",
            tmp_path,
            "python3.12",
            environment={"NAME": name} if name == "first" else {},
        )
        for name in ("first", "second")
    }
    runtime = Runtime(specs)
    runtime.load()
    assert runtime.invoke("first", {}) == {"imported": "first", "now": "first"}
    # "second" does not set NAME: it must not see the value "first" imported with.
    assert runtime.invoke("second", {}) == {"imported": None, "now": None}
    assert runtime.invoke("first", {}) == {"imported": "first", "now": "first"}


TOKEN_TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: dev
      Auth:
        DefaultAuthorizer: Tok
        Authorizers:
          Tok:
            FunctionArn: !GetAtt Auth.Arn
            Identity:
              Header: X-Token
              ValidationExpression: "tok-[a-z]+"
              ReauthorizeEvery: 0
  Auth:
    Type: AWS::Serverless::Function
    Properties: {Handler: tklocal_tokauth.handler, Runtime: python3.12, CodeUri: .}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: tklocal_tokapp.handler
      Runtime: python3.12
      CodeUri: .
      Events:
        Get:
          Type: Api
          Properties: {RestApiId: !Ref Api, Path: /x, Method: get}
"""


def test_token_authorizer(tmp_path: Path) -> None:
    (tmp_path / "template.yaml").write_text(TOKEN_TEMPLATE)
    (tmp_path / "tklocal_tokauth.py").write_text(
        "def handler(event, context):\n"
        "    assert set(event) == {'type', 'authorizationToken', 'methodArn'}\n"
        "    effect = 'Allow' if event['authorizationToken'] == 'tok-good' else 'Deny'\n"
        "    statement = {'Effect': effect, 'Action': 'execute-api:Invoke', 'Resource': '*'}\n"
        "    return {'principalId': 'p', 'policyDocument': {'Statement': [statement]},\n"
        "            'context': {'kind': event['type']}}\n"
    )
    (tmp_path / "tklocal_tokapp.py").write_text(
        "import json\n\n\ndef handler(event, context):\n"
        "    body = json.dumps(event['requestContext']['authorizer'])\n"
        "    return {'statusCode': 200, 'body': body}\n"
    )
    backend = Backend()
    backend.start()
    try:
        stack = build_stack(parse_template(tmp_path / "template.yaml"), backend)
        runtime = Runtime(stack.functions)
        runtime.load()
        gateway = Gateway(stack, runtime)

        def call(token: str | None) -> tuple[int, Any]:
            headers = [] if token is None else [("x-token", token)]
            response = gateway.handle(Request("GET", "/x", [], headers, b""))
            return response.status, json.loads(response.body)

        status, authorizer = call("tok-good")
        assert (status, authorizer["kind"], authorizer["principalId"]) == (200, "TOKEN", "p")
        assert call("tok-bad")[0] == 403
        assert call("not-matching") == (401, {"message": "Unauthorized"})  # ValidationExpression
        assert call(None) == (401, {"message": "Unauthorized"})
    finally:
        backend.stop()


ENCODED_SLASH_TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: dev
      Auth:
        DefaultAuthorizer: Tok
        Authorizers:
          Tok:
            FunctionArn: !GetAtt Auth.Arn
            Identity: {Header: X-Token, ReauthorizeEvery: 0}
  Auth:
    Type: AWS::Serverless::Function
    Properties: {Handler: tklocal_slashauth.handler, Runtime: python3.12, CodeUri: .}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: tklocal_slashapp.handler
      Runtime: python3.12
      CodeUri: .
      Events:
        DeletePark:
          Type: Api
          Properties: {RestApiId: !Ref Api, Path: "/parks/{parkId}", Method: delete}
        DeleteFavorite:
          Type: Api
          Properties:
            RestApiId: !Ref Api
            Path: "/parks/{parkId}/favorites/{favoriteId}"
            Method: delete
"""


@pytest.fixture
def favorites(tmp_path: Path) -> Iterator[Gateway]:
    """A visitor may delete a favourite (``DELETE/parks/*/favorites/*``), not a park."""
    (tmp_path / "template.yaml").write_text(ENCODED_SLASH_TEMPLATE)
    # The visitor's policy, in the shape RoleMap compiles it: path parameters become "*".
    (tmp_path / "tklocal_slashauth.py").write_text(
        "def handler(event, context):\n"
        "    prefix = event['methodArn'].split('/', 2)[:2]\n"
        "    resource = '/'.join(prefix) + '/DELETE/parks/*/favorites/*'\n"
        "    statement = {'Effect': 'Allow', 'Action': 'execute-api:Invoke',\n"
        "                 'Resource': resource}\n"
        "    return {'principalId': 'visitor', 'policyDocument': {'Statement': [statement]}}\n"
    )
    (tmp_path / "tklocal_slashapp.py").write_text(
        "import json\n\n\ndef handler(event, context):\n"
        "    return {'statusCode': 200, 'body': json.dumps(event['resource'])}\n"
    )
    backend = Backend()
    backend.start()
    try:
        stack = build_stack(parse_template(tmp_path / "template.yaml"), backend)
        runtime = Runtime(stack.functions)
        runtime.load()
        yield Gateway(stack, runtime)
    finally:
        backend.stop()


def test_attack_encoded_slash_reaches_an_admin_route(favorites: Gateway) -> None:
    """``%2F`` must not fold a route the visitor may call into an admin route's parameter.

    Routed segment by segment, ``/parks/p1%2Ffavorites%2Ff1`` is ``DELETE /parks/{parkId}``
    (admin only); a method ARN built from the decoded path would read
    ``DELETE/parks/p1/favorites/f1``, which the visitor's policy allows.
    """

    def call(method: str, path: str) -> tuple[int, Any]:
        response = favorites.handle(Request(method, path, [], [("X-Token", "t")], b""))
        return response.status, json.loads(response.body)

    assert call("DELETE", "/parks/p1/favorites/f1") == (
        200,
        "/parks/{parkId}/favorites/{favoriteId}",
    )
    assert call("DELETE", "/parks/p1")[0] == 403
    for path in (
        "/parks/p1%2Ffavorites%2Ff1",
        "/parks/p1%2ffavorites%2ff1",
        "/parks/p1%2Ffavorites/f1",
        "/parks/p1%5Cfavorites%5Cf1",
        "/parks/p1%5cfavorites%5cf1",
    ):
        status, body = call("DELETE", path)
        assert (status, body) != (200, "/parks/{parkId}"), path
        assert status == 400, path


def test_encoded_slash_stays_in_its_segment_and_is_refused(gateway: Gateway) -> None:
    found = gateway.router.route("GET", "/echo/a%2Fb")
    assert found is not None
    assert (found[0].path, found[1]) == ("/echo/{name}", {"name": "a/b"})
    for path in ("/echo/a%2Fb", "/open%2F", "/open%5C", "/files/a%2fb"):
        response = gateway.handle(Request("GET", path, [], [], b""))
        assert response.status == 400, path
        assert json.loads(response.body)["message"].startswith("Bad request")
    response = gateway.handle(Request("GET", "/open%3F", [], [], b""))
    assert response.status == 403  # "/open?" is not "/open"
    # Other escapes are decoded as usual; a "%2F" in the query string is not in the path.
    assert gateway.handle(Request("GET", "/op%65n", [], [], b"")).status == 200
    assert gateway.handle(Request("GET", "/open", [("q", "a/b")], [], b"")).status == 200


def test_a_handler_past_its_timeout_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "tklocal_slow.py").write_text(
        "import time\n\n\ndef handler(event, context):\n    time.sleep(event['sleep'])\n"
        "    return 'done'\n"
    )
    spec = FunctionSpec(
        "Slow", "slow", "arn:slow", "tklocal_slow.handler", tmp_path, "python3.12", timeout=0.2
    )
    runtime = Runtime({"Slow": spec})
    runtime.load()
    assert runtime.invoke("Slow", {"sleep": 0}) == "done"
    with pytest.raises(InvocationError, match=r"Task timed out after 0\.20 seconds"):
        runtime.invoke("Slow", {"sleep": 0.3})


def test_integration_timeout_is_504(gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        "tenantkit.local.gateway.integrations.lambda_proxy.INTEGRATION_TIMEOUT", -1.0
    )
    response = gateway.handle(Request("GET", "/open", [], [], b""))
    assert (response.status, json.loads(response.body)) == (
        504,
        {"message": "Endpoint request timed out"},
    )
