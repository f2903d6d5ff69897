"""The rendered document: valid OpenAPI 3, a SAM DefinitionBody that transforms and lints,
request models that refuse what keys must not hold, and the authorizer on every route."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from openapi_spec_validator import validate

from tenantkit.direct import dump, integration_policy, load_spec

from .conftest import PARKS

FIXTURE = Path(__file__).parent / "template.yaml"


def test_the_document_is_valid_openapi(parks_document: dict[str, Any]) -> None:
    validate(parks_document)


def test_dumped_yaml_and_json_read_back_unchanged(parks_document: dict[str, Any]) -> None:
    assert yaml.safe_load(dump(parks_document)) == parks_document
    assert json.loads(dump(parks_document, "json")) == parks_document
    assert "&id" not in dump(parks_document)  # no YAML anchors


def test_sam_transforms_it_and_cfn_lint_accepts_the_result(parks_document: dict[str, Any]) -> None:
    from cfnlint.api import ManualArgs, lint
    from samtranslator.translator.transform import transform

    template = yaml.safe_load(FIXTURE.read_text())
    template["Resources"]["Api"]["Properties"]["DefinitionBody"] = copy.deepcopy(parks_document)
    policy = integration_policy(load_spec(PARKS))
    template["Resources"]["DirectRole"]["Properties"]["Policies"][0]["PolicyDocument"] = policy

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    transformed = transform(template, {}, NoManagedPolicies())  # type: ignore[arg-type]
    body = transformed["Resources"]["Api"]["Properties"]["Body"]
    assert body["paths"]["/parks"]["post"]["x-amazon-apigateway-integration"]["type"] == "aws"
    problems = lint(json.dumps(transformed), config=ManualArgs(regions=["us-east-1"]))
    assert [str(p) for p in problems] == []


def test_every_route_is_behind_the_authorizer_and_validated(parks_document: dict[str, Any]) -> None:
    scheme = parks_document["components"]["securitySchemes"]["TenantAuthorizer"]
    assert scheme["x-amazon-apigateway-authtype"] == "custom"
    assert (
        scheme["x-amazon-apigateway-authorizer"]["identitySource"]
        == "method.request.header.Authorization"
    )
    assert parks_document["x-amazon-apigateway-request-validators"]["tenantkit"] == {
        "validateRequestBody": True,
        "validateRequestParameters": True,
    }
    operations = [op for methods in parks_document["paths"].values() for op in methods.values()]
    assert len(operations) == 7
    for operation in operations:
        assert operation["security"] == [{"TenantAuthorizer": []}]
        assert operation["x-amazon-apigateway-request-validator"] == "tenantkit"


def test_lambda_routes_map_the_tenant_header_from_the_authorizer(
    parks_document: dict[str, Any],
) -> None:
    integration = parks_document["paths"]["/parks/{parkId}/webhooks"]["post"][
        "x-amazon-apigateway-integration"
    ]
    assert integration["type"] == "aws_proxy"
    assert integration["requestParameters"] == {
        "integration.request.header.X-Amz-Tenant-Id": "context.authorizer.tenantId"
    }


def _model(document: dict[str, Any], name: str) -> dict[str, Any]:
    schema: dict[str, Any] = document["components"]["schemas"][name]
    return schema


@pytest.mark.parametrize(
    "body",
    [
        {"id": "a", "name": "n", "pk": "washington#park#a"},  # no extra attributes
        {"id": "a", "name": "n", "tenantId": "washington"},
        {"id": 'a", "pk": "x', "name": "n"},  # key values must match their pattern
        {"id": "a#b", "name": "n"},
        {"id": "a" * 65, "name": "n"},
        {"id": "a", "name": "n" * 201},
        {"id": "a", "name": "n", "status": "park-demolished"},
        {"name": "n"},
        {"id": "a", "name": 5},
    ],
)
def test_the_model_refuses_malformed_bodies(
    parks_document: dict[str, Any], body: dict[str, Any]
) -> None:
    model = _model(parks_document, "AddParkRequest")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(model).validate(body)


def test_the_model_accepts_a_park(parks_document: dict[str, Any]) -> None:
    model = _model(parks_document, "AddParkRequest")
    jsonschema.Draft4Validator(model).validate({"id": "enchanted-rock", "name": 'Rock "n" #$'})
    assert model["additionalProperties"] is False
    assert model["required"] == ["id", "name"]
    assert model["properties"]["name"]["maxLength"] == 200


def test_path_parameters_carry_their_pattern(parks_document: dict[str, Any]) -> None:
    (parameter,) = parks_document["paths"]["/parks/{parkId}"]["get"]["parameters"]
    assert parameter == {
        "name": "parkId",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": "^[a-z0-9-]{1,64}$", "maxLength": 64},
    }


def test_intrinsics_reach_the_integrations(parks_document: dict[str, Any]) -> None:
    post = parks_document["paths"]["/parks"]["post"]["x-amazon-apigateway-integration"]
    assert post["credentials"] == {"Fn::GetAtt": ["DirectRole", "Arn"]}
    assert post["uri"] == {
        "Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}:dynamodb:action/UpdateItem"
    }
    text, variables = post["requestTemplates"]["application/json"]["Fn::Sub"]
    assert variables == {"TableName": {"Ref": "ParksTable"}}
    assert '"TableName": "#if($known)${TableName}#{else}-#end"' in text
    assert "${h}" not in text  # Velocity's own ${...} are escaped from Fn::Sub as ${!h}
