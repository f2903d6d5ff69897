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
    """Informational checks included: every stateful resource says what happens to it
    when the stack is deleted or the resource replaced."""
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run(
        [str(cfn_lint), "--include-checks", "I", "--", str(EXAMPLE / "template.yaml")],
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


# SNS actions that act on a subscription, named by its ARN (the topic's plus ":<id>");
# every other SNS action the functions use acts on a topic.
SUBSCRIPTION_ACTIONS = {"sns:GetSubscriptionAttributes", "sns:Unsubscribe"}


def test_sns_permissions_are_limited_to_the_topic_prefix() -> None:
    """Topic actions on the prefix's topics, subscription actions on their subscriptions:
    each action granted on a resource it acts on, and never both kinds in one statement."""
    prefix = load_template()["Globals"]["Function"]["Environment"]["Variables"]["TOPIC_PREFIX"]
    topics = "arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:" + f"{prefix}-*"
    for name, function in functions().items():
        for statement in statements(function):
            sns = {a for a in actions(statement) if a.startswith("sns:")}
            if not sns:
                continue
            assert sns == set(actions(statement)), name  # nothing else shares the statement
            if sns & SUBSCRIPTION_ACTIONS:
                assert sns <= SUBSCRIPTION_ACTIONS, (name, sns)
                assert statement["Resource"] == topics + ":*", name
            else:
                assert statement["Resource"] == topics, name


def test_unsubscribing_is_granted_on_subscriptions() -> None:
    webhooks = functions()["WebhooksFunction"]
    for statement in statements(webhooks):
        if "sns:Unsubscribe" in actions(statement):
            assert statement["Resource"].endswith(":stateparks-*:*")
            break
    else:
        raise AssertionError("the webhooks function cannot unsubscribe")


def test_every_inline_policy_has_a_version() -> None:
    for name, function in functions().items():
        for policy in function["Properties"].get("Policies", []):
            assert policy["Version"] == "2012-10-17", name


def test_the_table_and_the_secrets_survive_deletion_and_replacement() -> None:
    """The table holds every tenant's data, and the secrets the keys that sign tokens,
    cursors and envelopes: deleting the stack or replacing them must not destroy them."""
    resources = load_template()["Resources"]
    kept = [
        name
        for name, resource in resources.items()
        if resource["Type"] in {"AWS::DynamoDB::Table", "AWS::SecretsManager::Secret"}
    ]
    assert len(kept) == 4
    for name in kept:
        assert resources[name]["DeletionPolicy"] == "Retain", name
        assert resources[name]["UpdateReplacePolicy"] == "Retain", name


def test_api_access_logs_name_the_tenant_and_the_user() -> None:
    resources = load_template()["Resources"]
    api = resources["ParksApi"]
    setting = api["Properties"]["AccessLogSetting"]
    assert setting["DestinationArn"] == "ApiAccessLogs.Arn"
    line = json.loads(setting["Format"])  # one JSON object per request
    assert line["tenantId"] == "$context.authorizer.tenantId"
    assert line["userId"] == "$context.authorizer.userId"
    assert {"requestId", "status", "resource"} <= set(line)
    assert 0 < resources["ApiAccessLogs"]["Properties"]["RetentionInDays"] <= 365
    # API Gateway logs through the account's role, which must be set before the stage.
    assert api["DependsOn"] == "ApiGatewayAccount"
    account = resources["ApiGatewayAccount"]["Properties"]
    assert account["CloudWatchRoleArn"] == "ApiGatewayLogsRole.Arn"
    for name in ("ApiGatewayAccount", "ApiGatewayLogsRole"):  # other APIs' logging uses them
        assert resources[name]["DeletionPolicy"] == "Retain"


def test_the_status_queue_keeps_messages_long_enough_and_shorter_than_its_dlq() -> None:
    """Long enough that an envelope can expire (and go to the DLQ) before SQS drops it,
    shorter than the DLQ's, which counts from a message's first enqueue."""
    import config

    resources = load_template()["Resources"]
    retention = resources["StatusQueue"]["Properties"]["MessageRetentionPeriod"]
    dlq = resources["StatusDeadLetterQueue"]["Properties"]["MessageRetentionPeriod"]
    assert config.ENVELOPE_MAX_AGE_SECONDS < retention < dlq


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
