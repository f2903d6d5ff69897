"""tenantkit.integrations.powertools: the resolver middleware, its error answers, Logger keys.

Every test runs a real Powertools resolver (REST, HTTP API, with and without
``enable_validation``) on the sample events in tests/fixtures/aws-events.
"""

from __future__ import annotations

import io
import json
from typing import Annotated, Any

import boto3
import pytest
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import (
    APIGatewayHttpResolver,
    APIGatewayRestResolver,
    Depends,
    Response,
)
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from moto import mock_aws
from pydantic import BaseModel, Field

from tenantkit import current_tenant, current_tenant_or_none, requires_roles
from tenantkit.dynamo import TenantTable
from tenantkit.errors import (
    ConflictError,
    KeySourceError,
    NotFoundError,
    TenantKitError,
    UnauthorizedError,
)
from tenantkit.integrations.powertools import TenantMiddleware, register_error_handler
from tests.conftest import load_event
from tests.dynamo.conftest import TABLE, create_table

ALICE = {"principalId": "alice", "userId": "alice", "tenantId": "texas", "roles": '["admin"]'}
CAROL = {"principalId": "carol", "userId": "carol", "tenantId": "texas", "roles": '["visitor"]'}


class FakeLambdaContext:
    function_name = "fn"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:fn"
    aws_request_id = "req-1"


class Park(BaseModel):
    name: str = Field(min_length=1)


def found_park() -> str:
    """A dependency that refuses; module-level, so the string annotation resolves."""
    raise NotFoundError("no such park")


def add_routes(app: ApiGatewayResolver, logger: Logger | None = None) -> ApiGatewayResolver:
    """The same routes on any resolver: each shows one way a route ends."""
    app.use(middlewares=[TenantMiddleware(logger)])

    @app.get("/my/path")
    def whoami() -> dict[str, Any]:
        if logger is not None:
            logger.info("handling")
        return {"tenant": current_tenant().tenant_id}

    @app.get("/admin")
    @requires_roles("admin")
    def admin_only() -> dict[str, Any]:
        return {"by": current_tenant().user_id}

    @app.get("/conflict")
    def conflict() -> dict[str, Any]:
        raise ConflictError("park exists")

    @app.get("/outage")
    def outage() -> dict[str, Any]:
        raise KeySourceError("secret arn:aws:secretsmanager:us-east-1:1:secret:k unreachable")

    @app.get("/unauthenticated")
    def unauthenticated() -> dict[str, Any]:
        raise UnauthorizedError("token expired at 12:00 for alice")

    @app.get("/bug")
    def bug() -> dict[str, Any]:
        raise KeyError("not a tenantkit error")

    @app.get("/depends")
    def depends(park: Annotated[str, Depends(found_park)]) -> dict[str, Any]:
        return {"park": park}

    @app.post("/parks")
    @requires_roles("admin")
    def create_park(park: Park) -> tuple[dict[str, Any], int]:
        if park.name == "taken":
            raise ConflictError("park exists")
        return {"name": park.name}, 201

    return app


def rest_event(
    authorizer: dict[str, Any] | None, path: str = "/my/path", **extra: Any
) -> dict[str, Any]:
    event = load_event("apiGatewayProxyEvent.json")
    event["requestContext"]["authorizer"] = authorizer or {}
    event.update(path=path, resource=path, **extra)
    return event


def http_event(authorizer: dict[str, Any] | None, path: str = "/my/path") -> dict[str, Any]:
    event = load_event("apiGatewayProxyV2LambdaAuthorizerEvent.json")
    if authorizer is None:
        del event["requestContext"]["authorizer"]["lambda"]
    else:
        event["requestContext"]["authorizer"]["lambda"] = authorizer
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    return event


def post_rest(authorizer: dict[str, Any], body: object) -> dict[str, Any]:
    return rest_event(
        authorizer,
        "/parks",
        httpMethod="POST",
        body=json.dumps(body),
        headers={"Content-Type": "application/json"},
    )


RESOLVERS = {
    "rest": (APIGatewayRestResolver, rest_event),
    "http": (APIGatewayHttpResolver, http_event),
}


@pytest.fixture(params=[(kind, validate) for kind in RESOLVERS for validate in (False, True)])
def case(request: pytest.FixtureRequest) -> tuple[ApiGatewayResolver, Any]:
    """A resolver of each kind, with and without validation, and its event builder."""
    kind, validate = request.param
    resolver, event = RESOLVERS[kind]
    return add_routes(resolver(enable_validation=validate)), event


def call(app: ApiGatewayResolver, event: dict[str, Any]) -> tuple[int, Any]:
    response = app.resolve(event, FakeLambdaContext())
    return response["statusCode"], json.loads(response["body"])


def test_sets_and_clears_tenant(case: tuple[ApiGatewayResolver, Any]) -> None:
    app, event = case
    assert call(app, event(ALICE)) == (200, {"tenant": "texas"})
    assert current_tenant_or_none() is None


def test_requires_roles_refusal_is_a_403_not_a_200(case: tuple[ApiGatewayResolver, Any]) -> None:
    """The bug: the 403 dict came back nested in a 200 body."""
    app, event = case
    assert call(app, event(CAROL, "/admin")) == (403, {"message": "Forbidden"})
    assert call(app, event(ALICE, "/admin")) == (200, {"by": "alice"})


def test_a_tenantkit_error_answers_its_status_not_a_500(
    case: tuple[ApiGatewayResolver, Any],
) -> None:
    """The bug: the error escaped the resolver, and Lambda answered 500."""
    app, event = case
    assert call(app, event(ALICE, "/conflict")) == (409, {"message": "park exists"})
    assert current_tenant_or_none() is None


def test_server_errors_hide_their_message(case: tuple[ApiGatewayResolver, Any]) -> None:
    app, event = case
    status, body = call(app, event(ALICE, "/outage"))
    assert (status, body) == (KeySourceError.status_code, {"message": "Internal error"})
    status, body = call(app, event(ALICE, "/unauthenticated"))
    assert (status, body) == (401, {"message": "Unauthorized"})


def test_an_error_raised_in_a_dependency_answers_its_status(
    case: tuple[ApiGatewayResolver, Any],
) -> None:
    app, event = case
    assert call(app, event(ALICE, "/depends")) == (404, {"message": "no such park"})


def test_other_exceptions_are_left_to_powertools(case: tuple[ApiGatewayResolver, Any]) -> None:
    app, event = case
    with pytest.raises(KeyError, match="not a tenantkit error"):
        app.resolve(event(ALICE, "/bug"), FakeLambdaContext())
    assert current_tenant_or_none() is None


@pytest.mark.parametrize(
    ("authorizer", "status"),
    [
        (None, 401),
        ({"principalId": "dave", "userId": "dave"}, 403),
        ({**ALICE, "tenantId": "*"}, 403),
    ],
)
def test_refusals(
    case: tuple[ApiGatewayResolver, Any], authorizer: dict[str, Any] | None, status: int
) -> None:
    app, event = case
    answer, body = call(app, event(authorizer))
    assert answer == status
    assert "*" not in json.dumps(body)


def test_validation_errors_stay_422_and_tenantkit_errors_keep_their_status() -> None:
    app = add_routes(APIGatewayRestResolver(enable_validation=True))
    assert call(app, post_rest(ALICE, {"name": "alamo"})) == (201, {"name": "alamo"})
    status, body = call(app, post_rest(ALICE, {"name": ""}))
    assert status == 422
    assert body["detail"][0]["loc"] == ["body", "name"]
    assert call(app, post_rest(ALICE, {"name": "taken"})) == (409, {"message": "park exists"})
    assert call(app, post_rest(CAROL, {"name": "alamo"})) == (403, {"message": "Forbidden"})


def test_an_exception_handler_of_the_app_wins() -> None:
    """As with Powertools' ServiceError, a handler the app registers takes precedence."""
    app = add_routes(APIGatewayRestResolver())

    @app.exception_handler(ConflictError)
    def conflict(error: ConflictError) -> Response[str]:
        return Response(status_code=422, content_type="text/plain", body="mine")

    response = app.resolve(rest_event(ALICE, "/conflict"), FakeLambdaContext())
    assert (response["statusCode"], response["body"]) == (422, "mine")
    # Errors the app has no handler for are still answered by the middleware.
    assert call(app, rest_event(CAROL, "/admin")) == (403, {"message": "Forbidden"})


def test_a_handler_for_the_base_class_catches_every_tenantkit_error() -> None:
    app = add_routes(APIGatewayHttpResolver())
    seen: list[str] = []

    @app.exception_handler(TenantKitError)
    def any_error(error: TenantKitError) -> Response[str]:
        seen.append(type(error).__name__)
        return Response(status_code=error.status_code, content_type="text/plain", body="x")

    app.resolve(http_event(CAROL, "/admin"), FakeLambdaContext())
    app.resolve(http_event(ALICE, "/conflict"), FakeLambdaContext())
    assert seen == ["ForbiddenError", "ConflictError"]


def test_a_catch_all_handler_does_not_take_tenantkit_errors() -> None:
    """A handler for Exception answers bugs; refusals keep their status, not its 500."""
    app = add_routes(APIGatewayRestResolver())

    @app.exception_handler(Exception)
    def bug(error: Exception) -> Response[str]:
        return Response(status_code=500, content_type="text/plain", body="bug")

    assert call(app, rest_event(CAROL, "/admin")) == (403, {"message": "Forbidden"})
    assert call(app, rest_event(ALICE, "/depends")) == (404, {"message": "no such park"})
    response = app.resolve(rest_event(ALICE, "/bug"), FakeLambdaContext())
    assert (response["statusCode"], response["body"]) == (500, "bug")


def test_a_dependency_error_handled_by_the_app_is_answered_by_it() -> None:
    app = add_routes(APIGatewayHttpResolver())

    @app.exception_handler(NotFoundError)
    def missing(error: NotFoundError) -> Response[str]:
        return Response(status_code=410, content_type="text/plain", body=str(error))

    response = app.resolve(http_event(ALICE, "/depends"), FakeLambdaContext())
    assert (response["statusCode"], response["body"]) == (410, "no such park")


def test_http_resolver_reads_lambda_authorizer() -> None:
    app = APIGatewayHttpResolver()
    app.use(middlewares=[TenantMiddleware()])

    @app.get("/my/path")
    def handler() -> dict[str, Any]:
        return {"tenant": current_tenant().tenant_id}

    event = load_event("apiGatewayProxyV2LambdaAuthorizerEvent.json")
    event["requestContext"]["authorizer"]["lambda"].update(userId="bob")
    response = app.resolve(event, FakeLambdaContext())
    assert json.loads(response["body"]) == {"tenant": "123-456-789-012"}


def test_logger_keys_only_during_invocation() -> None:
    stream = io.StringIO()
    # A service of its own: Powertools keeps one logger per service, and other tests (the
    # README's snippets) configure "parks" with a stream of theirs.
    logger = Logger(service="tenant-middleware-test", logger_handler=None, stream=stream)
    app = add_routes(APIGatewayRestResolver(), logger)
    app.resolve(rest_event(ALICE), FakeLambdaContext())
    logger.info("after")
    inside, after = (json.loads(line) for line in stream.getvalue().splitlines())
    assert (inside["tenant_id"], inside["user_id"]) == ("texas", "alice")
    assert "tenant_id" not in after


def plain_routes(app: ApiGatewayResolver) -> ApiGatewayResolver:
    """Routes that need no tenant, on a resolver without TenantMiddleware."""
    register_error_handler(app)

    @app.get("/conflict")
    def conflict() -> dict[str, Any]:
        raise ConflictError("park exists")

    @app.get("/outage")
    def outage() -> dict[str, Any]:
        raise KeySourceError("secret arn:aws:secretsmanager:us-east-1:1:secret:k unreachable")

    @app.get("/unauthenticated")
    def unauthenticated() -> dict[str, Any]:
        raise UnauthorizedError("token expired at 12:00 for alice")

    @app.get("/tenant")
    def tenant() -> dict[str, Any]:
        return {"tenant": current_tenant().tenant_id}  # no tenant in scope here

    @app.get("/bug")
    def bug() -> dict[str, Any]:
        raise KeyError("not a tenantkit error")

    return app


@pytest.mark.parametrize(("kind", "validate"), [(k, v) for k in RESOLVERS for v in (False, True)])
def test_without_the_middleware_the_registered_handler_answers_tenantkit_errors(
    kind: str, validate: bool
) -> None:
    resolver, event = RESOLVERS[kind]
    app = plain_routes(resolver(enable_validation=validate))
    assert call(app, event(ALICE, "/conflict")) == (409, {"message": "park exists"})
    assert call(app, event(ALICE, "/outage")) == (503, {"message": "Internal error"})
    assert call(app, event(ALICE, "/unauthenticated")) == (401, {"message": "Unauthorized"})
    status, _ = call(app, event(ALICE, "/tenant"))
    assert status == 403  # NoTenantContextError, answered like any other
    with pytest.raises(KeyError):  # not ours: left to Powertools
        call(app, event(ALICE, "/bug"))


def test_the_registered_handler_and_the_middleware_answer_alike() -> None:
    with_middleware = add_routes(APIGatewayRestResolver())
    both = add_routes(register_error_handler(APIGatewayRestResolver()))
    for path in ("/conflict", "/outage", "/unauthenticated", "/admin"):
        for who in (ALICE, CAROL):
            assert call(both, rest_event(who, path)) == call(with_middleware, rest_event(who, path))


@pytest.mark.parametrize("kind", list(RESOLVERS))
def test_the_middleware_prints_one_metering_record_per_request(
    kind: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a metered table: the tenant as a property, the authorizer's tier as the only
    dimension; a route that leaves the table alone prints nothing."""
    for name in ("POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE"):
        monkeypatch.delenv(name, raising=False)
    resolver, event = RESOLVERS[kind]
    app = resolver()
    app.use(middlewares=[TenantMiddleware()])
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client)
        table = TenantTable(TABLE, client=client, metering=True)

        @app.get("/parks")
        def parks() -> dict[str, Any]:
            table.put_item({"pk": "park#1", "sk": "meta"})
            return {"park": table.get_item({"pk": "park#1", "sk": "meta"})}

        @app.get("/my/path")
        def whoami() -> dict[str, Any]:
            return {"tenant": current_tenant().tenant_id}

        assert call(app, event({**ALICE, "tier": "premium"}, "/parks"))[0] == 200
        assert call(app, event({**ALICE, "tier": "premium"}, "/my/path"))[0] == 200
    (record,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert record["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["tier"]]
    assert (record["tier"], record["tenant_id"]) == ("premium", "texas")
    assert (record["Requests"], record["RCU"], record["WCU"]) == ([2.0], [0.5], [1.0])
