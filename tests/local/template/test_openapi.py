"""An OpenAPI document read into operations, authorizers and validators."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tenantkit.local.template import TemplateError
from tenantkit.local.template.openapi import operations
from tests.local.conftest import built_stack

LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:f"
LAMBDA_URI = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{LAMBDA}/invocations"
QUERY_URI = "arn:aws:apigateway:us-east-1:dynamodb:action/Query"


def integration(**extra: Any) -> dict[str, Any]:
    return {"type": "aws", "uri": QUERY_URI, **extra}


def test_operations_methods_integrations_and_security() -> None:
    body = {
        "security": [{"Doc": []}],
        "paths": {
            "/a": {
                "summary": "not a method",
                "x-amazon-apigateway-any-method": {
                    "x-amazon-apigateway-integration": {"type": "aws_proxy", "uri": LAMBDA_URI}
                },
                "get": {"security": [], "x-amazon-apigateway-integration": integration()},
            },
            "/b/{id}": {
                "post": {
                    "security": [{"Op": []}],
                    "x-amazon-apigateway-integration": integration(
                        requestTemplates={"Application/JSON": "{}"},
                        passthroughBehavior="never",
                        responses={
                            "4\\d{2}": {"statusCode": "400"},
                            "default": {"statusCode": "201", "responseTemplates": {"A/B": "x"}},
                        },
                    ),
                }
            },
        },
    }
    found = {(op.method, op.path): op for op in operations(body, "D")}
    assert set(found) == {("ANY", "/a"), ("GET", "/a"), ("POST", "/b/{id}")}
    assert found["ANY", "/a"].integration.target == LAMBDA
    assert found["ANY", "/a"].security == "Doc"
    assert found["GET", "/a"].security is None
    post = found["POST", "/b/{id}"]
    assert post.security == "Op"
    assert post.integration.target == "dynamodb:Query"
    assert post.integration.request_templates == {"application/json": "{}"}
    assert post.integration.passthrough == "NEVER"
    assert post.integration.responses[1].templates == {"a/b": "x"}
    assert [(r.pattern, r.status) for r in post.integration.responses] == [
        ("4\\d{2}", 400),
        (None, 201),
    ]
    assert (
        operations(
            {"paths": {"/c": {"get": {"x-amazon-apigateway-integration": integration()}}}}, "D"
        )[0].security
        == ""
    )


def test_validators_collect_models_and_required_parameters() -> None:
    schema = {"$ref": "#/components/schemas/In"}
    body = {
        "components": {"schemas": {"In": {"type": "object"}}},
        "x-amazon-apigateway-request-validators": {
            "all": {"validateRequestBody": True, "validateRequestParameters": True},
            "params": {"validateRequestParameters": True},
        },
        "x-amazon-apigateway-request-validator": "all",
        "paths": {
            "/x/{id}": {
                "parameters": [{"name": "id", "in": "path", "required": True}],
                "put": {
                    "parameters": [
                        {"name": "X-Token", "in": "header", "required": True},
                        {"name": "q", "in": "query", "required": True},
                        {"name": "opt", "in": "query"},
                    ],
                    "requestBody": {"content": {"application/json": {"schema": schema}}},
                    "x-amazon-apigateway-integration": integration(),
                },
                "get": {
                    "x-amazon-apigateway-request-validator": "params",
                    "x-amazon-apigateway-integration": integration(),
                },
            }
        },
    }
    put, get = operations(body, "D")
    assert put.validation is not None
    assert get.validation is not None
    assert (put.validation.body, put.validation.parameters) == (True, True)
    assert put.validation.required == (("path", "id"), ("header", "X-Token"), ("querystring", "q"))
    model = put.validation.schemas["application/json"]
    assert model["allOf"] == [schema]
    assert model["components"] == body["components"]
    assert (get.validation.body, get.validation.parameters) == (False, True)
    swagger = {
        "definitions": {"In": {"type": "string"}},
        "x-amazon-apigateway-request-validators": {"b": {"validateRequestBody": True}},
        "paths": {
            "/s": {
                "post": {
                    "x-amazon-apigateway-request-validator": "b",
                    "parameters": [{"in": "body", "schema": {"$ref": "#/definitions/In"}}],
                    "x-amazon-apigateway-integration": integration(),
                }
            }
        },
    }
    (post,) = operations(swagger, "D")
    assert post.validation is not None
    assert post.validation.schemas["application/json"]["definitions"] == swagger["definitions"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"type": "http", "uri": "https://example.com"}, "does not run locally"),
        ({"type": "aws", "uri": "arn:aws:apigateway:us-east-1:s3:path/b/k"}, "action/<Action>"),
        ({"type": "aws_proxy", "uri": QUERY_URI}, "invocation URI"),
        (integration(passthroughBehavior="SOMETIMES"), "passthroughBehavior"),
        (integration(responses={"(": {"statusCode": "400"}}), "not a regular expression"),
        (integration(responses={"default": {"statusCode": "2xx"}}), "statusCode"),
        (integration(requestTemplates={"application/json": 1}), "must be a string"),
    ],
)
def test_integrations_that_cannot_run_fail_naming_their_place(raw: Any, message: str) -> None:
    body = {"paths": {"/p": {"get": {"x-amazon-apigateway-integration": raw}}}}
    with pytest.raises(TemplateError, match=message) as raised:
        operations(body, "D")
    assert str(raised.value).startswith("D.paths./p.get.x-amazon-apigateway-integration")


def test_an_unknown_validator_or_a_second_authorizer_is_refused() -> None:
    op = {"x-amazon-apigateway-integration": integration()}
    with pytest.raises(TemplateError, match="no request validator named 'v'"):
        operations(
            {"paths": {"/p": {"get": {**op, "x-amazon-apigateway-request-validator": "v"}}}}, "D"
        )
    with pytest.raises(TemplateError, match="one authorizer per method"):
        operations({"paths": {"/p": {"get": {**op, "security": [{"A": []}, {"B": []}]}}}}, "D")


TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: dev
      Auth:
        DefaultAuthorizer: Sam
        Authorizers:
          Sam: {FunctionArn: !GetAtt Fn.Arn, Identity: {Header: X-Token}}
      DefinitionBody:
        paths:
          /default:
            get:
              x-amazon-apigateway-integration: {type: mock}
          /open:
            get:
              security: []
              x-amazon-apigateway-integration: {type: mock}
          /proxy/{p+}:
            x-amazon-apigateway-any-method:
              x-amazon-apigateway-integration:
                type: aws_proxy
                uri: !Sub "{FN_URI}"
  Fn:
    Type: AWS::Serverless::Function
    Properties: {Handler: app.handler, Runtime: python3.12, CodeUri: .}
""".replace(
    "{FN_URI}",
    "arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Fn.Arn}/invocations",
)


def test_the_stack_routes_the_document_with_the_apis_default_authorizer(tmp_path: Path) -> None:
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    with built_stack(tmp_path / "template.yaml") as stack:
        routes = {(r.method, r.path): r for r in stack.routes}
    assert set(routes) == {("GET", "/default"), ("GET", "/open"), ("ANY", "/proxy/{p+}")}
    assert routes["GET", "/default"].authorizer is not None
    assert routes["GET", "/default"].authorizer.name == "Sam"
    assert routes["GET", "/open"].authorizer is None
    assert routes["ANY", "/proxy/{p+}"].function == "Fn"
    assert routes["GET", "/open"].function == ""


def test_the_stack_refuses_a_security_requirement_with_no_authorizer(tmp_path: Path) -> None:
    text = TEMPLATE.replace("security: []", "security: [{Nobody: []}]")
    (tmp_path / "template.yaml").write_text(text)
    with (
        pytest.raises(TemplateError, match="no authorizer 'Nobody'"),
        built_stack(tmp_path / "template.yaml"),
    ):
        pass


@pytest.mark.parametrize(
    ("body", "place"),
    [
        (
            {"x-amazon-apigateway-gateway-responses": {}, "paths": {}},
            "D.x-amazon-apigateway-gateway",
        ),
        (
            {"x-amazon-apigateway-binary-media-types": [], "paths": {}},
            "D.x-amazon-apigateway-binary",
        ),
        (
            {"paths": {"/p": {"get": {"x-amazon-apigateway-auth": {"type": "AWS_IAM"}}}}},
            "D.paths./p.get.x-amazon-apigateway-auth",
        ),
        (
            {
                "paths": {
                    "/p": {
                        "get": {
                            "x-amazon-apigateway-integration": integration(
                                contentHandling="CONVERT_TO_TEXT"
                            )
                        }
                    }
                }
            },
            "D.paths./p.get.x-amazon-apigateway-integration.contentHandling",
        ),
        (
            {
                "paths": {
                    "/p": {
                        "get": {
                            "x-amazon-apigateway-integration": integration(
                                responses={
                                    "default": {
                                        "statusCode": "200",
                                        "contentHandling": "CONVERT_TO_TEXT",
                                    }
                                }
                            )
                        }
                    }
                }
            },
            "D.paths./p.get.x-amazon-apigateway-integration.responses.default.contentHandling",
        ),
    ],
)
def test_extensions_and_keys_not_emulated_fail_at_start(body: dict[str, Any], place: str) -> None:
    with pytest.raises(TemplateError, match="not emulated by tenantkit local") as raised:
        operations(body, "D")
    assert str(raised.value).startswith(place)


def test_inert_extensions_are_accepted_and_api_keys_are_not_enforced() -> None:
    body = {
        "x-amazon-apigateway-api-key-source": "AUTHORIZER",
        "x-amazon-apigateway-minimum-compression-size": 1024,
        "components": {
            "securitySchemes": {"api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"}}
        },
        "paths": {
            "/p": {
                "get": {
                    "security": [{"Auth": [], "api_key": []}],
                    "x-amazon-apigateway-integration": integration(
                        credentials="arn:aws:iam::123456789012:role/r", timeoutInMillis=5000
                    ),
                }
            }
        },
    }
    (operation,) = operations(body, "D")
    assert operation.security == "Auth"
