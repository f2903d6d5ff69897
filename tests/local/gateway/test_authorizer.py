"""Authorizer emulation: the method ARN and TOKEN authorizers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tenantkit.local.gateway import Gateway, Request
from tenantkit.local.gateway.authorizer import method_arn
from tests.local.gateway.conftest import authorized_template, gateway_of


def test_method_arn(gateway: Gateway) -> None:
    found = gateway.router.route("GET", "/echo/bob")
    assert found is not None
    assert method_arn(gateway.stack, found[0], "GET", "/echo/bob") == (
        "arn:aws:execute-api:us-east-1:123456789012:api/test/GET/echo/bob"
    )


TOKEN_TEMPLATE = authorized_template(
    "tklocal_tokauth",
    "tklocal_tokapp",
    "Get:\n  Type: Api\n  Properties: {RestApiId: !Ref Api, Path: /x, Method: get}\n",
    identity='{Header: X-Token, ValidationExpression: "tok-[a-z]+", ReauthorizeEvery: 0}',
)


def test_token_authorizer(tmp_path: Path) -> None:
    auth = (
        "def handler(event, context):\n"
        "    assert set(event) == {'type', 'authorizationToken', 'methodArn'}\n"
        "    effect = 'Allow' if event['authorizationToken'] == 'tok-good' else 'Deny'\n"
        "    statement = {'Effect': effect, 'Action': 'execute-api:Invoke', 'Resource': '*'}\n"
        "    return {'principalId': 'p', 'policyDocument': {'Statement': [statement]},\n"
        "            'context': {'kind': event['type']}}\n"
    )
    app = (
        "import json\n\n\ndef handler(event, context):\n"
        "    body = json.dumps(event['requestContext']['authorizer'])\n"
        "    return {'statusCode': 200, 'body': body}\n"
    )
    modules = {"tklocal_tokauth": auth, "tklocal_tokapp": app}
    with gateway_of(tmp_path, TOKEN_TEMPLATE, modules) as gateway:

        def call(token: str | None) -> tuple[int, Any]:
            headers = [] if token is None else [("x-token", token)]
            response = gateway.handle(Request("GET", "/x", [], headers, b""))
            return response.status, json.loads(response.body)

        status, authorizer = call("tok-good")
        assert (status, authorizer["kind"], authorizer["principalId"]) == (200, "TOKEN", "p")
        assert call("tok-bad")[0] == 403
        assert call("not-matching") == (401, {"message": "Unauthorized"})  # ValidationExpression
        assert call(None) == (401, {"message": "Unauthorized"})
