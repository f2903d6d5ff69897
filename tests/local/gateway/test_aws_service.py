"""``aws`` integrations to Step Functions and the service's own answers to bad requests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tenantkit.local.gateway import Gateway, Request
from tests.local.conftest import gateway_on

TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Machine:
    Type: AWS::Serverless::StateMachine
    Properties:
      Type: EXPRESS
      Definition:
        StartAt: Greet
        States:
          Greet:
            Type: Pass
            Parameters:
              "greeting.$": "States.Format('hello {}', $.name)"
              "tenantId.$": "$.tenantId"
            End: true
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: dev
      DefinitionBody:
        paths:
          /sync:
            post:
              x-amazon-apigateway-integration:
                type: aws
                uri: !Sub "arn:aws:apigateway:${AWS::Region}:states:action/StartSyncExecution"
                requestTemplates:
                  application/json: !Sub |
                    #set($name = $util.escapeJavaScript($input.json('$.name')))
                    #set($name = $name.replaceAll("\\\\'", "'"))
                    {"stateMachineArn": "${Machine}",
                     "input": "{\\"tenantId\\": \\"t1\\", \\"name\\": $name}"}
                responses:
                  default:
                    statusCode: "200"
                    responseTemplates:
                      application/json: |
                        #if($input.path('$.status') == "SUCCEEDED")$input.path('$.output')#else
                        #set($context.responseOverride.status = 500)
                        {"error": "$input.path('$.error')"}#end
          /start:
            post:
              x-amazon-apigateway-integration:
                type: aws
                uri: !Sub "arn:aws:apigateway:${AWS::Region}:states:action/StartExecution"
                requestTemplates:
                  application/json: !Sub >-
                    {"stateMachineArn": "${Machine}", "name": "$context.requestId",
                    "input": "{\\"tenantId\\": \\"t1\\", \\"name\\": \\"n\\"}"}
                responses:
                  "4\\\\d{2}": {statusCode: "400"}
                  default:
                    statusCode: "202"
                    responseTemplates:
                      application/json: >-
                        #set($date = $input.path('$.startDate'))
                        {"started": #if($date)true#{else}false#end}
          /raw:
            post:
              x-amazon-apigateway-integration:
                type: aws
                uri: !Sub "arn:aws:apigateway:${AWS::Region}:dynamodb:action/GetItem"
                responses:
                  "4\\\\d{2}": {statusCode: "400"}
                  default: {statusCode: "200"}
          /nowhere:
            post:
              x-amazon-apigateway-integration:
                type: aws
                uri: !Sub "arn:aws:apigateway:${AWS::Region}:dynamodb:action/Explode"
                responses:
                  default: {statusCode: "200"}
"""


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    directory: Path = tmp_path_factory.mktemp("aws_service")
    (directory / "template.yaml").write_text(TEMPLATE)
    with gateway_on(directory / "template.yaml") as gateway:
        yield gateway


def post(gateway: Gateway, path: str, body: bytes) -> tuple[int, Any]:
    headers = [("Content-Type", "application/json")]
    response = gateway.handle(Request("POST", path, [], headers, body))
    return response.status, json.loads(response.body)


def test_start_sync_execution_answers_the_machines_output(gateway: Gateway) -> None:
    status, body = post(gateway, "/sync", json.dumps({"name": 'Ann "the" \' tester'}).encode())
    assert (status, body) == (200, {"greeting": 'hello Ann "the" \' tester', "tenantId": "t1"})


def test_start_execution_answers_the_service_response(gateway: Gateway) -> None:
    assert post(gateway, "/start", b"{}") == (202, {"started": True})


def test_the_body_passes_through_as_the_service_request(gateway: Gateway) -> None:
    """No template: WHEN_NO_MATCH sends the body as it came, and the service answers."""
    status, body = post(gateway, "/raw", b'{"TableName": "nope", "Key": {"pk": {"S": "a"}}}')
    assert status == 400
    assert body["__type"].endswith("ResourceNotFoundException")


@pytest.mark.parametrize(
    ("sent", "kind"),
    [
        (b"{not json", "SerializationException"),
        (b"[1]", "ValidationException"),
        (b'{"TableName": 5, "Key": "x"}', "ValidationException"),
        (b'{"TableName": "t", "Key": {"pk": "not an attribute value"}}', "ValidationException"),
        (b'{"TableName": "t", "Key": {"pk": {"S": "\\ud800"}}}', "SerializationException"),
        (b'{"TableName": "t", "Key": {"\\udc00": {"S": "a"}}}', "SerializationException"),
    ],
)
def test_a_request_the_service_would_refuse_is_its_400(
    gateway: Gateway, sent: bytes, kind: str
) -> None:
    status, body = post(gateway, "/raw", sent)
    assert status == 400
    assert body["__type"].endswith(kind)


def test_an_action_the_service_lacks_is_its_400(gateway: Gateway) -> None:
    status, body = post(gateway, "/nowhere", b"{}")
    assert (status, body["__type"]) == (200, "UnknownOperationException")  # default response
