"""The non-proxy pipeline on ``mock`` integrations: template choice and passthrough,
integration response selection, overrides, and faults told apart (400 or 500)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tenantkit.local.gateway import Gateway, Request, Response
from tests.local.gateway.conftest import gateway_of

TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: dev
      DefinitionBody:
        x-amazon-apigateway-request-validators:
          params: {validateRequestParameters: true}
        paths:
          /status:
            post:
              x-amazon-apigateway-integration:
                type: mock
                passthroughBehavior: WHEN_NO_TEMPLATES
                requestTemplates:
                  application/json: '{"statusCode": $input.json(''$.code'')}'
                responses:
                  "4\\\\d{2}":
                    statusCode: "418"
                    responseParameters:
                      method.response.header.X-Static: "'fixed'"
                      method.response.header.X-Query: method.request.querystring.q
                    responseTemplates:
                      application/json: '{"json": true}'
                      text/plain: plain
                  "5\\\\d{2}": {statusCode: "502"}
                  default:
                    statusCode: "200"
                    responseTemplates:
                      application/json: |
                        #set($context.responseOverride.header.X-Override = "yes")
                        #set($context.responseOverride.status = 299)
                        {"overridden": true}
          /nodefault:
            post:
              x-amazon-apigateway-request-validator: params
              parameters:
                - {name: X-Need, in: header, required: true}
                - {name: need, in: query, required: true}
              x-amazon-apigateway-integration:
                type: mock
                requestTemplates: {application/json: '{"statusCode": 200}'}
                responses:
                  "4\\\\d{2}": {statusCode: "400"}
          /broken:
            post:
              x-amazon-apigateway-integration:
                type: mock
                requestTemplates:
                  application/json: "#if($x) never closed"
                responses:
                  default: {statusCode: "200"}
          /decoded:
            post:
              x-amazon-apigateway-integration:
                type: mock
                requestTemplates: {application/json: '{"statusCode": 200}'}
                responses:
                  default:
                    statusCode: "200"
                    responseTemplates:
                      application/json: $util.parseJson($input.params('q'))
          /override:
            post:
              x-amazon-apigateway-integration:
                type: mock
                requestTemplates: {application/json: '{"statusCode": 200}'}
                responses:
                  default:
                    statusCode: "200"
                    responseTemplates:
                      application/json: '#set($context.responseOverride.status = "x")'
"""


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    directory: Path = tmp_path_factory.mktemp("transform")
    with gateway_of(directory, TEMPLATE, {}) as gateway:
        yield gateway


def post(
    gateway: Gateway,
    path: str,
    body: bytes = b"{}",
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),),
    query: tuple[tuple[str, str], ...] = (),
) -> Response:
    return gateway.handle(Request("POST", path, list(query), list(headers), body))


def test_selection_pattern_parameters_and_accept(gateway: Gateway) -> None:
    response = post(gateway, "/status", b'{"code": 404}', query=(("q", "from-query"),))
    assert response.status == 418
    assert json.loads(response.body) == {"json": True}
    headers = dict(response.headers)
    assert (headers["X-Static"], headers["X-Query"]) == ("fixed", "from-query")
    accept = (("Content-Type", "application/json"), ("Accept", "text/plain, */*"))
    plain = post(gateway, "/status", b'{"code": 400}', headers=accept)
    assert (plain.body, dict(plain.headers)["Content-Type"]) == (b"plain", "text/plain")
    assert post(gateway, "/status", b'{"code": 503}').status == 502  # no template: passthrough


def test_response_override_wins_over_the_selected_response(gateway: Gateway) -> None:
    response = post(gateway, "/status", b'{"code": 200}')
    assert response.status == 299
    assert json.loads(response.body) == {"overridden": True}
    assert dict(response.headers)["X-Override"] == "yes"


def test_passthrough_when_no_templates_refuses_an_unmatched_type(gateway: Gateway) -> None:
    response = post(gateway, "/status", b"x", headers=(("Content-Type", "text/plain"),))
    assert (response.status, json.loads(response.body)) == (
        415,
        {"message": "Unsupported Media Type"},
    )


def test_required_parameters_are_named_when_missing(gateway: Gateway) -> None:
    response = post(gateway, "/nodefault")
    assert (response.status, json.loads(response.body)) == (
        400,
        {"message": "Missing required request parameters: [X-Need, need]"},
    )
    present = (("Content-Type", "application/json"), ("x-need", "1"))
    assert post(gateway, "/nodefault", headers=present, query=(("need", "1"),)).status != 400


def test_configuration_faults_are_500s_with_the_reason_logged(
    gateway: Gateway, capsys: pytest.CaptureFixture[str]
) -> None:
    message = {"message": "Internal server error"}
    for path, reason in (
        ("/nodefault", "none matches status 200"),  # no default response
        ("/broken", "request template: syntax error"),
        ("/override", "responseOverride.status"),
    ):
        headers = (("Content-Type", "application/json"), ("X-Need", "1"))
        response = post(gateway, path, headers=headers, query=(("need", "1"),))
        assert (response.status, json.loads(response.body)) == (500, message), path
        assert reason in capsys.readouterr().err


def test_a_body_the_template_cannot_read_is_the_callers_400(gateway: Gateway) -> None:
    response = post(gateway, "/status", b'{"code": ')
    assert response.status == 400
    assert json.loads(response.body)["message"].startswith("Could not parse request body")


def test_an_unpaired_surrogate_a_template_writes_is_sent_as_java_encodes_it(
    gateway: Gateway,
) -> None:
    """``$util.parseJson`` turns ``"\\ud800"`` into a string UTF-8 cannot encode; Java's
    encoder writes ``?`` in its place (no 500)."""
    response = post(gateway, "/decoded", query=(("q", '"a\\ud800b"'),))
    assert (response.status, response.body) == (200, b"a?b")
