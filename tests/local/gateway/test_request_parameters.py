"""``requestParameters``: what each source maps, and what is refused at start."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenantkit.local.gateway.request_parameters import (
    check_request_parameters,
    map_request_parameters,
)
from tenantkit.local.template import TemplateError
from tests.local.gateway.conftest import gateway_of

PARAMS = {
    "path": {"id": "p1"},
    "querystring": {"q": "v"},
    "header": {"X-Caller": "c", "X-Amz-Tenant-Id": "spoofed"},
}
CONTEXT = {"requestId": "r1", "authorizer": {"tenantId": "t1", "n": "2"}, "identity": {}}


def mapped(mapping: dict[str, str], body: str = '{"a": {"b": [1, true]}}') -> dict[str, str]:
    request = map_request_parameters(
        mapping, params=PARAMS, body=body, context=CONTEXT, stage_variables={"s": "sv"}
    )
    return {**request.headers, **{f"q:{k}": v for k, v in request.querystring.items()}}


def test_every_source() -> None:
    assert mapped(
        {
            "integration.request.header.X-Amz-Tenant-Id": "context.authorizer.tenantId",
            "integration.request.header.R": "context.requestId",
            "integration.request.header.P": "method.request.path.id",
            "integration.request.header.C": "method.request.header.x-caller",
            "integration.request.header.S": "'static value'",
            "integration.request.header.V": "stageVariables.s",
            "integration.request.header.B": "method.request.body.a.b[1]",
            "integration.request.header.J": "method.request.body.a",
            "integration.request.querystring.q2": "method.request.querystring.q",
        }
    ) == {
        "X-Amz-Tenant-Id": "t1",  # the authorizer's, never the caller's header
        "R": "r1",
        "P": "p1",
        "C": "c",
        "S": "static value",
        "V": "sv",
        "B": "true",
        "J": '{"b":[1,true]}',
        "q:q2": "v",
    }


def test_a_source_without_a_value_maps_nothing() -> None:
    assert (
        mapped(
            {
                "integration.request.header.A": "context.authorizer.missing",
                "integration.request.header.B": "method.request.header.absent",
                "integration.request.header.C": "method.request.body.a",
                "integration.request.header.D": "stageVariables.none",
            },
            body="{not json",
        )
        == {}
    )
    assert mapped({"integration.request.header.E": "method.request.body"}, "raw") == {"E": "raw"}


@pytest.mark.parametrize(
    "mapping",
    [
        {"integration.request.body.x": "'v'"},
        {"method.request.header.X": "'v'"},
        {"integration.request.header.X": "context"},
        {"integration.request.header.X": "method.request.cookie.c"},
        {"integration.request.header.X": "v"},
    ],
)
def test_malformed_mappings_are_refused(mapping: dict[str, str]) -> None:
    assert check_request_parameters(mapping) is not None


def test_the_gateway_refuses_a_malformed_mapping_at_start(tmp_path: Path) -> None:
    template = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: dev
      DefinitionBody:
        paths:
          /m:
            get:
              x-amazon-apigateway-integration:
                type: mock
                requestParameters: {integration.request.header.X: "method.request.cookie.c"}
"""
    with (
        pytest.raises(TemplateError, match=r"paths\./m\.get: .*cookie"),
        gateway_of(tmp_path, template, {}),
    ):
        pass
