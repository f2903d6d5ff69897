"""tenantkit.integrations.powertools: the resolver middleware and Logger keys."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, APIGatewayRestResolver

from tenantkit import current_tenant, current_tenant_or_none
from tenantkit.integrations.powertools import TenantMiddleware
from tests.conftest import load_event

ALICE = {"principalId": "alice", "userId": "alice", "tenantId": "texas", "roles": '["admin"]'}


class FakeLambdaContext:
    function_name = "fn"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:fn"
    aws_request_id = "req-1"


def rest_app(logger: Logger | None = None) -> APIGatewayRestResolver:
    app = APIGatewayRestResolver()
    app.use(middlewares=[TenantMiddleware(logger)])

    @app.get("/my/path")
    def handler() -> dict[str, Any]:
        if logger is not None:
            logger.info("handling")
        return {"tenant": current_tenant().tenant_id}

    return app


def rest_event(authorizer: dict[str, Any] | None) -> dict[str, Any]:
    event = load_event("apiGatewayProxyEvent.json")
    event["requestContext"]["authorizer"] = authorizer or {}
    return event


def test_rest_resolver_sets_and_clears_tenant() -> None:
    response = rest_app().resolve(rest_event(ALICE), FakeLambdaContext())
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"tenant": "texas"}
    assert current_tenant_or_none() is None


@pytest.mark.parametrize(
    ("authorizer", "status"),
    [
        (None, 401),
        ({"principalId": "dave", "userId": "dave"}, 403),
        ({**ALICE, "tenantId": "*"}, 403),
    ],
)
def test_rest_resolver_refusals(authorizer: dict[str, Any] | None, status: int) -> None:
    response = rest_app().resolve(rest_event(authorizer), FakeLambdaContext())
    assert response["statusCode"] == status


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
    logger = Logger(service="parks", logger_handler=None, stream=stream)
    rest_app(logger).resolve(rest_event(ALICE), FakeLambdaContext())
    logger.info("after")
    inside, after = (json.loads(line) for line in stream.getvalue().splitlines())
    assert (inside["tenant_id"], inside["user_id"]) == ("texas", "alice")
    assert "tenant_id" not in after
