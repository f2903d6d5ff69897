"""Fixtures of the direct tests: the parks spec, its document, its templates, and a state
machine run on moto."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from tenantkit.direct import load_spec, render_openapi

PARKS = Path(__file__).parent / "parks.yaml"
TABLE = "parks"
STATE_MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:UpdateParkStatus"


def placed(template: Any) -> str:
    """A request template as CloudFormation would deploy it: ``Fn::Sub`` applied."""
    if isinstance(template, str):
        return template
    text, variables = template["Fn::Sub"]
    values = {"TableName": TABLE, "StateMachineArn": STATE_MACHINE}
    for name in variables:
        text = text.replace("${" + name + "}", values[name])
    return str(text).replace("${!", "${")


def run_execution(machine: dict[str, Any], execution_input: dict[str, Any]) -> dict[str, Any]:
    """Run ``machine`` on moto's interpreter (inside ``mock_aws``); its described execution."""
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    arn = sfn.create_state_machine(
        name=uuid.uuid4().hex,
        definition=json.dumps(machine),
        roleArn="arn:aws:iam::123456789012:role/sfn",
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps(execution_input))
    for _ in range(200):
        described = sfn.describe_execution(executionArn=execution["executionArn"])
        if described["status"] != "RUNNING":
            return dict(described)
        time.sleep(0.02)
    raise AssertionError("the execution did not finish")


class Route:
    """One operation of a rendered document."""

    def __init__(self, document: dict[str, Any], path: str, method: str) -> None:
        self.operation = document["paths"][path][method]
        self.integration = self.operation["x-amazon-apigateway-integration"]

    @property
    def request(self) -> str:
        return placed(self.integration["requestTemplates"]["application/json"])

    def response(self, pattern: str = "default") -> str:
        return str(self.integration["responses"][pattern]["responseTemplates"]["application/json"])

    @property
    def action(self) -> str:
        return str(self.integration["uri"]["Fn::Sub"]).rsplit("/", 1)[1]


@pytest.fixture(scope="session")
def parks_document() -> dict[str, Any]:
    return render_openapi(load_spec(PARKS))


@pytest.fixture(scope="session")
def parks(parks_document: dict[str, Any]) -> dict[str, Route]:
    """The parks routes by operation id."""
    routes = {}
    for path, methods in parks_document["paths"].items():
        for method, operation in methods.items():
            routes[operation["operationId"]] = Route(parks_document, path, method)
    return routes
