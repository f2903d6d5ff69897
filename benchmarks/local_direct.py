"""`tenantkit local`: a direct DynamoDB integration (mapping templates, no function)
against the same read served by a Lambda handler, in one run on one backend.

Both routes read the same item with ``GetItem``: ``GET /direct/{id}`` renders a request
template, calls the backend and renders a response template; ``GET /lambda/{id}`` invokes
a handler (a warm execution environment) that calls ``GetItem`` with boto3 and answers the
same JSON. Requests go through the gateway's pipeline in-process (no HTTP, no
authorizer: both would cost the same on either route), alternating the two routes,
``TENANTKIT_DIRECT_REQUESTS`` each (default 500). Reported: p50 and p95 in ms, the
Lambda route as the baseline. The point is the emulator's cost, not AWS latency.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Items:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: bench-direct-items
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
  Reader:
    Type: AWS::Serverless::Function
    Properties: {Handler: bench_direct_reader.handler, Runtime: python3.12, CodeUri: .}
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: bench
      DefinitionBody:
        paths:
          /direct/{id}:
            get:
              x-amazon-apigateway-integration:
                type: aws
                uri: !Sub "arn:aws:apigateway:${AWS::Region}:dynamodb:action/GetItem"
                requestTemplates:
                  application/json: >-
                    {"TableName": "bench-direct-items", "Key": {"pk": {"S":
                    "t1#$util.escapeJavaScript($input.params('id'))"}}}
                responses:
                  default:
                    statusCode: "200"
                    responseTemplates:
                      application/json: >-
                        {"id": "$input.params('id')",
                        "name": "$util.escapeJavaScript($input.path('$.Item.name.S'))"}
          /lambda/{id}:
            get:
              x-amazon-apigateway-integration:
                type: aws_proxy
                uri: !Sub "arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/\\
                  functions/${Reader.Arn}/invocations"
"""
READER = """\
import json

import boto3

table = boto3.client("dynamodb")


def handler(event, context):
    item_id = event["pathParameters"]["id"]
    found = table.get_item(TableName="bench-direct-items", Key={"pk": {"S": "t1#" + item_id}})
    body = {"id": item_id, "name": found["Item"]["name"]["S"]}
    return {"statusCode": 200, "body": json.dumps(body)}
"""


def _percentiles(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered) * 1000, ordered[int(0.95 * (len(ordered) - 1))] * 1000


def results() -> list[dict[str, Any]]:
    from tenantkit.local.backend import Backend
    from tenantkit.local.functions import Runtime
    from tenantkit.local.gateway import Gateway, Request
    from tenantkit.local.stack import build_stack
    from tenantkit.local.template import parse_template

    requests = int(os.environ.get("TENANTKIT_DIRECT_REQUESTS", "500"))
    times: dict[str, list[float]] = {"direct": [], "lambda": []}
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        (directory / "template.yaml").write_text(TEMPLATE)
        (directory / "bench_direct_reader.py").write_text(READER)
        backend = Backend()
        backend.start()
        try:
            stack = build_stack(parse_template(directory / "template.yaml"), backend)
            backend.client("dynamodb").put_item(
                TableName="bench-direct-items",
                Item={"pk": {"S": "t1#park-1"}, "name": {"S": "Big Bend"}},
            )
            runtime = Runtime(stack.functions)
            runtime.load()
            try:
                gateway = Gateway(stack, runtime)
                for index in range(-20, requests):  # 20 warm-up rounds, not measured
                    for route in ("direct", "lambda"):
                        request = Request("GET", f"/{route}/park-1", [], [], b"")
                        started = time.perf_counter()
                        response = gateway.handle(request)
                        elapsed = time.perf_counter() - started
                        if response.status != 200:
                            raise RuntimeError(f"{route}: {response.status} {response.body!r}")
                        if index >= 0:
                            times[route].append(elapsed)
            finally:
                runtime.close()
        finally:
            backend.stop()
    direct, function = _percentiles(times["direct"]), _percentiles(times["lambda"])
    label = f"tenantkit local, GetItem, {requests} requests"
    return [
        {
            "measure": f"{label}: p50 ms (direct integration vs Lambda handler)",
            "tenantkit": direct[0],
            "baseline": function[0],
            "ratio": direct[0] / function[0],
            "target": "report",
        },
        {
            "measure": f"{label}: p95 ms (direct integration vs Lambda handler)",
            "tenantkit": direct[1],
            "baseline": function[1],
            "ratio": direct[1] / function[1],
            "target": "report",
        },
    ]


if __name__ == "__main__":
    for row in results():
        print(row)
