"""template.yaml: lint-clean, wired as the issue asks, and least privilege."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.examples.conftest import EXAMPLE, load_template, template_routes


def statements(function: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for policy in function["Properties"].get("Policies", []):
        found.extend(policy["Statement"])
    return found


def actions(statement: dict[str, Any]) -> list[str]:
    value = statement["Action"]
    return [value] if isinstance(value, str) else list(value)


def functions() -> dict[str, dict[str, Any]]:
    resources = load_template()["Resources"]
    return {k: v for k, v in resources.items() if v["Type"] == "AWS::Serverless::Function"}


def test_cfn_lint_passes() -> None:
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run(
        [str(cfn_lint), str(EXAMPLE / "template.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_api_has_a_default_request_authorizer_on_authorization_with_short_ttl() -> None:
    api = load_template()["Resources"]["ParksApi"]["Properties"]
    auth = api["Auth"]
    authorizer = auth["Authorizers"][auth["DefaultAuthorizer"]]
    assert authorizer["FunctionPayloadType"] == "REQUEST"
    assert authorizer["Identity"]["Headers"] == ["Authorization"]
    assert 0 < authorizer["Identity"]["ReauthorizeEvery"] <= 10
    assert authorizer["FunctionArn"] == "AuthorizerFunction.Arn"


def test_every_role_map_route_is_served_and_every_served_route_is_in_the_role_map() -> None:
    # A served route missing from the role map could fall under a declared route's
    # path-parameter wildcard (IAM's * crosses /), so the two must match exactly.
    with (EXAMPLE / "app" / "roles.json").open() as f:  # the copy the authorizer loads
        role_map = json.load(f)
    declared = {tuple(route.split(" ", 1)) for route in role_map["routes"]}
    declared |= {tuple(route.split(" ", 1)) for route in role_map["authenticated"]}
    assert set(template_routes()) == declared


def test_functions_run_python_312() -> None:
    globals_ = load_template()["Globals"]["Function"]
    assert globals_["Runtime"] == "python3.12"
    for function in functions().values():
        assert function["Properties"].get("Runtime", "python3.12") == "python3.12"


def test_no_scan_or_partiql_and_no_wildcard_actions() -> None:
    for name, function in functions().items():
        for statement in statements(function):
            for action in actions(statement):
                assert "*" not in action, (name, action)
                assert action not in {
                    "dynamodb:Scan",
                    "dynamodb:PartiQLSelect",
                    "dynamodb:PartiQLInsert",
                    "dynamodb:PartiQLUpdate",
                    "dynamodb:PartiQLDelete",
                }, (name, action)


def test_sns_permissions_are_limited_to_the_topic_prefix() -> None:
    prefix = load_template()["Globals"]["Function"]["Environment"]["Variables"]["TOPIC_PREFIX"]
    for function in functions().values():
        for statement in statements(function):
            if any(a.startswith("sns:") for a in actions(statement)):
                assert statement["Resource"].endswith(f":{prefix}-*")


def test_each_function_gets_only_what_it_uses() -> None:
    granted = {
        name: sorted(a for s in statements(fn) for a in actions(s))
        for name, fn in functions().items()
    }
    assert granted["AuthorizerFunction"] == ["dynamodb:GetItem", "secretsmanager:GetSecretValue"]
    assert not any(a.startswith(("sns:", "sqs:")) for a in granted["ParksFunction"])
    assert not any(a.startswith(("sns:", "sqs:")) for a in granted["SettingsFunction"])
    assert "sqs:SendMessage" in granted["ParkStatusFunction"]
    assert not any(a.startswith("sns:") for a in granted["ParkStatusFunction"])
    assert "sns:Publish" in granted["StatusConsumerFunction"]
    assert "sns:Subscribe" not in granted["StatusConsumerFunction"]
    assert "sns:Publish" not in granted["WebhooksFunction"]


def test_status_queue_has_a_dlq_and_partial_batch_responses() -> None:
    resources = load_template()["Resources"]
    redrive = resources["StatusQueue"]["Properties"]["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == "StatusDeadLetterQueue.Arn"
    event = resources["StatusConsumerFunction"]["Properties"]["Events"]["StatusEvents"]
    assert event["Type"] == "SQS"
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_parameters_and_secrets() -> None:
    template = load_template()
    parameters = template["Parameters"]
    assert parameters["JwtSecret"]["NoEcho"] is True
    assert "Default" not in parameters["JwtSecret"]
    assert parameters["AllowLocalWebhooks"]["Default"] == "false"
    assert {"JwtIssuer", "JwtAudience"} <= set(parameters)
    kinds = {r["Type"] for r in template["Resources"].values()}
    assert "AWS::SecretsManager::Secret" in kinds
    table = template["Resources"]["ParksTable"]["Properties"]
    assert [k["AttributeName"] for k in table["KeySchema"]] == ["pk", "sk"]
    gsi = table["GlobalSecondaryIndexes"][0]
    assert gsi["IndexName"] == "GSI1"
    assert [k["AttributeName"] for k in gsi["KeySchema"]] == ["GSI1PK", "GSI1SK"]


def test_the_webhooks_function_writes_only_registry_records() -> None:
    """Its writes are confined to the registry's ``_events#`` control-plane keys, so a bug
    there cannot write tenant data, and it may read a subscription's endpoint from SNS."""
    webhooks = functions()["WebhooksFunction"]
    writes = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
    for statement in statements(webhooks):
        if writes & set(actions(statement)):
            condition = statement["Condition"]
            assert condition["ForAllValues:StringLike"]["dynamodb:LeadingKeys"] == ["_events#*"]
            assert condition["Null"]["dynamodb:LeadingKeys"] == "false"
    granted = {a for s in statements(webhooks) for a in actions(s)}
    assert writes | {"sns:GetSubscriptionAttributes"} <= granted
