"""Security schemes: the Lambda authorizers among them, and what cannot run locally."""

from __future__ import annotations

from typing import Any

import pytest

from tenantkit.local.template import TemplateError
from tenantkit.local.template.security_schemes import api_key_schemes, definition_authorizers

LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:f"
LAMBDA_URI = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{LAMBDA}/invocations"


def test_lambda_authorizers_from_security_schemes() -> None:
    body = {
        "components": {
            "securitySchemes": {
                "Key": {"type": "apiKey", "name": "x-api-key", "in": "header"},
                "Req": {
                    "x-amazon-apigateway-authorizer": {
                        "type": "request",
                        "authorizerUri": LAMBDA_URI,
                        "identitySource": "method.request.header.A, method.request.querystring.t",
                        "authorizerResultTtlInSeconds": 0,
                    }
                },
                "Tok": {
                    "x-amazon-apigateway-authorizer": {
                        "type": "token",
                        "authorizerUri": LAMBDA_URI,
                        "identityValidationExpression": "Bearer .+",
                    }
                },
            }
        }
    }
    found = definition_authorizers(body, "D")
    assert set(found) == {"Req", "Tok"}
    assert (found["Req"].payload_type, found["Req"].headers, found["Req"].query_strings) == (
        "REQUEST",
        ("A",),
        ("t",),
    )
    assert found["Req"].ttl == 0
    assert found["Req"].function_arn == LAMBDA
    assert (found["Tok"].headers, found["Tok"].ttl) == (("Authorization",), 300)
    assert found["Tok"].validation_expression == "Bearer .+"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"type": "cognito_user_pools"}, "only Lambda authorizers"),
        ({"type": "token", "authorizerUri": "x"}, "not a Lambda invocation URI"),
        (
            {"type": "request", "authorizerUri": LAMBDA_URI, "identitySource": "context.x"},
            "is not supported",
        ),
        (
            {"type": "token", "authorizerUri": LAMBDA_URI, "authorizerResultTtlInSeconds": 4000},
            "0 to 3600",
        ),
    ],
)
def test_authorizers_that_cannot_run_are_refused(spec: dict[str, Any], message: str) -> None:
    body = {"securityDefinitions": {"S": {"x-amazon-apigateway-authorizer": spec}}}
    with pytest.raises(TemplateError, match=message):
        definition_authorizers(body, "D")


def test_api_key_schemes_are_told_apart() -> None:
    body = {
        "securityDefinitions": {
            "api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"},
            "Custom": {
                "type": "apiKey",
                "x-amazon-apigateway-authorizer": {"type": "token", "authorizerUri": LAMBDA_URI},
            },
        }
    }
    assert api_key_schemes(body) == {"api_key"}
