"""template.yaml: lint-clean, wired as the issue asks, and least privilege."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.examples.conftest import (
    EXAMPLE,
    direct_routes,
    lambda_routes,
    load_definition,
    load_template,
    template_routes,
)


def role_statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    """The statements of an ``AWS::IAM::Role``'s inline policies."""
    return [
        s for p in role["Properties"].get("Policies", []) for s in p["PolicyDocument"]["Statement"]
    ]


def statements(function: dict[str, Any]) -> list[dict[str, Any]]:
    """A function's statements: its SAM ``Policies``, or those of the role it names."""
    role = function["Properties"].get("Role")
    if role is not None:
        assert "Policies" not in function["Properties"]  # SAM refuses both
        return role_statements(load_template()["Resources"][role.removesuffix(".Arn")])
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
    for name, role in roles().items():
        for policy in role["Properties"].get("Policies", []):
            assert policy["PolicyDocument"]["Version"] == "2012-10-17", name


def roles() -> dict[str, dict[str, Any]]:
    resources = load_template()["Resources"]
    return {k: v for k, v in resources.items() if v["Type"] == "AWS::IAM::Role"}


def test_no_role_is_named_so_any_stack_name_deploys_with_capability_iam() -> None:
    """A named role needs CAPABILITY_NAMED_IAM and clashes between two stacks; every role
    is referred to by its Arn instead (the definition's credentials included)."""
    for name, role in roles().items():
        assert "RoleName" not in role["Properties"], name
    credentials = {
        json.dumps(integration["credentials"], sort_keys=True)
        for item in load_definition()["paths"].values()
        for operation in item.values()
        for integration in [operation["x-amazon-apigateway-integration"]]
    }
    assert credentials == {
        json.dumps({"Fn::GetAtt": [role, "Arn"]})
        for role in ("ApiGatewayInvokeRole", "ApiIntegrationRole")
    }


def test_the_table_and_the_secrets_survive_deletion_and_replacement() -> None:
    """The table holds every tenant's data, and the secret the key that signs tokens:
    deleting the stack or replacing them must not destroy them."""
    resources = load_template()["Resources"]
    kept = [
        name
        for name, resource in resources.items()
        if resource["Type"] in {"AWS::DynamoDB::Table", "AWS::SecretsManager::Secret"}
    ]
    assert sorted(kept) == ["JwtSecretValue", "ParksTable"]
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


def test_each_function_gets_only_what_it_uses() -> None:
    granted = {
        name: sorted(a for s in statements(fn) for a in actions(s))
        for name, fn in functions().items()
    }
    assert granted["AuthorizerFunction"] == ["dynamodb:GetItem", "secretsmanager:GetSecretValue"]
    assert granted["StatusAnnouncerFunction"] == ["dynamodb:GetItem", "sns:Publish"]
    assert not any(a.startswith(("sns:", "sqs:", "states:")) for a in granted["SettingsFunction"])
    assert "sns:Publish" not in granted["WebhooksFunction"]
    assert not any(a.startswith(("sqs:", "states:")) for a in granted["WebhooksFunction"])


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
    gsi, items = table["GlobalSecondaryIndexes"]
    assert gsi["IndexName"] == "GSI1"
    assert [k["AttributeName"] for k in gsi["KeySchema"]] == ["GSI1PK", "GSI1SK"]
    # The tenant-enumeration index (export, offboard, move without a scan).
    assert items["IndexName"] == "TenantItems"
    assert [k["AttributeName"] for k in items["KeySchema"]] == ["tkshard"]
    assert items["Projection"] == {"ProjectionType": "KEYS_ONLY"}


def test_the_webhooks_function_reaches_only_registry_records_itself() -> None:
    """Its own role reaches the registry's ``_events#`` control-plane keys only, so a bug
    there cannot touch tenant data (parks are read through ``TenantDataRole``, narrowed to
    the tenant by ``TenantSessions``), and it may read a subscription's endpoint from SNS."""
    webhooks = functions()["WebhooksFunction"]
    writes = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
    for statement in statements(webhooks):
        if any(a.startswith("dynamodb:") for a in actions(statement)):
            condition = statement["Condition"]
            assert condition["ForAllValues:StringLike"]["dynamodb:LeadingKeys"] == ["_events#*"]
            assert condition["Null"]["dynamodb:LeadingKeys"] == "false"
    granted = {a for s in statements(webhooks) for a in actions(s)}
    assert writes | {"sns:GetSubscriptionAttributes"} <= granted


def iam_principals() -> dict[str, list[dict[str, Any]]]:
    """Every identity the template creates -> the statements of its inline policies:
    functions and state machines (SAM makes their roles), and the template's own roles."""
    found: dict[str, list[dict[str, Any]]] = {}
    for name, resource in load_template()["Resources"].items():
        kind, props = resource["Type"], resource.get("Properties", {})
        if kind in {"AWS::Serverless::Function", "AWS::Serverless::StateMachine"}:
            if "Role" in props:  # its identity is that role, listed as itself
                continue
            found[name] = [s for p in props.get("Policies", []) for s in p["Statement"]]
        elif kind == "AWS::IAM::Role":
            found[name] = role_statements(resource)
    return found


def allows(statements: list[dict[str, Any]], action: str, resource: str) -> bool:
    """The tests' own IAM model for these policies: an Allow whose action pattern matches
    (case-insensitively, ``*`` and ``?`` wildcards) on a matching resource, no Deny.
    Resources are the template's references as this file's loader reads them."""
    import fnmatch

    def hits(statement: dict[str, Any]) -> bool:
        listed = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        targets = (
            statement["Resource"]
            if isinstance(statement["Resource"], list)
            else [statement["Resource"]]
        )
        return any(fnmatch.fnmatch(action.lower(), a.lower()) for a in listed) and any(
            fnmatch.fnmatchcase(resource, str(t)) for t in targets
        )

    matching = [s for s in statements if hits(s)]
    return any(s["Effect"] == "Allow" for s in matching) and not any(
        s["Effect"] == "Deny" for s in matching
    )


def test_allows_is_a_faithful_model() -> None:
    grant = [{"Effect": "Allow", "Action": "states:Start*", "Resource": "*"}]
    assert allows(grant, "states:StartSyncExecution", "UpdateParkStatus")
    assert allows(grant, "STATES:startexecution", "x")
    assert not allows(grant, "states:DescribeExecution", "UpdateParkStatus")
    denied = [*grant, {"Effect": "Deny", "Action": "*", "Resource": "UpdateParkStatus"}]
    assert not allows(denied, "states:StartExecution", "UpdateParkStatus")


STARTS = ("states:StartExecution", "states:StartSyncExecution")


def spellings(name: str) -> st.SearchStrategy[str]:
    """``name`` with any of its letters in either case."""
    cases = st.lists(st.booleans(), min_size=len(name), max_size=len(name))
    return cases.map(
        lambda upper: "".join(
            c.upper() if u else c.lower() for c, u in zip(name, upper, strict=True)
        )
    )


def test_attack_only_the_apis_integration_role_may_start_the_status_machine() -> None:
    """Decision 2: UpdateParkStatus trusts the tenantId of its input, so nothing but API
    Gateway's integration role (whose templates take it from the authorizer) may start it."""
    may_start = {
        name
        for name, statements in iam_principals().items()
        for action in STARTS
        if allows(statements, action, "UpdateParkStatus")
    }
    assert may_start == {"ApiIntegrationRole"}
    role = load_template()["Resources"]["ApiIntegrationRole"]["Properties"]
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "apigateway.amazonaws.com"}
    # The status route is the integration that acts as that role.
    definition = load_definition()
    integration = definition["paths"]["/parks/{parkId}/statuses"]["post"][
        "x-amazon-apigateway-integration"
    ]
    assert integration["credentials"] == {"Fn::GetAtt": ["ApiIntegrationRole", "Arn"]}


def test_attack_only_the_status_machine_may_invoke_the_announcer() -> None:
    """The announcer trusts the tenantId of its input too: no event source, and only the
    state machine's role may invoke it."""
    announcer = load_template()["Resources"]["StatusAnnouncerFunction"]["Properties"]
    assert "Events" not in announcer
    may_invoke = {
        name
        for name, statements in iam_principals().items()
        if allows(statements, "lambda:InvokeFunction", "StatusAnnouncerFunction.Arn")
    }
    assert may_invoke == {"UpdateParkStatus"}
    kinds = {r["Type"] for r in load_template()["Resources"].values()}
    assert "AWS::Lambda::Permission" not in kinds


def test_api_gateway_reaches_the_functions_through_one_invoke_role() -> None:
    """Lambda routes and the authorizer act as ApiGatewayInvokeRole, which may invoke the
    authorizer and the two API functions, and nothing else."""
    statements = iam_principals()["ApiGatewayInvokeRole"]
    reachable = {
        name
        for name, resource in load_template()["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
        and allows(statements, "lambda:InvokeFunction", f"{name}.Arn")
    }
    assert reachable == {"AuthorizerFunction", "WebhooksFunction", "SettingsFunction"}
    assert {a for s in statements for a in actions(s)} == {"lambda:InvokeFunction"}
    definition = load_definition()
    [scheme] = definition["components"]["securitySchemes"].values()
    invoke = {"Fn::GetAtt": ["ApiGatewayInvokeRole", "Arn"]}
    assert scheme["x-amazon-apigateway-authorizer"]["authorizerCredentials"] == invoke
    for item in definition["paths"].values():
        for operation in item.values():
            integration = operation["x-amazon-apigateway-integration"]
            if integration["type"] == "aws_proxy":
                assert integration["credentials"] == invoke


def test_the_direct_integrations_role_has_only_what_the_routes_call() -> None:
    granted = {a for s in iam_principals()["ApiIntegrationRole"] for a in actions(s)}
    assert granted == {
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "dynamodb:Query",
        "states:StartSyncExecution",
    }


def test_the_api_is_the_generated_definition_behind_the_authorizer() -> None:
    """Every operation goes through the authorizer (a REQUEST authorizer on Authorization,
    a short TTL); webhooks reach their tenant-isolated function with X-Amz-Tenant-Id mapped
    from the authorizer's tenant, and only from it."""
    definition = load_definition()
    [(name, scheme)] = definition["components"]["securitySchemes"].items()
    authorizer = scheme["x-amazon-apigateway-authorizer"]
    assert authorizer["type"] == "request"
    assert authorizer["identitySource"] == "method.request.header.Authorization"
    assert 0 < authorizer["authorizerResultTtlInSeconds"] <= 10
    function = authorizer["authorizerUri"]["Fn::Sub"][1]["Function"]
    assert function == {"Fn::GetAtt": ["AuthorizerFunction", "Arn"]}
    webhooks = load_template()["Resources"]["WebhooksFunction"]["Properties"]
    assert webhooks["TenancyConfig"] == {"TenantIsolationMode": "PER_TENANT"}
    for path, item in definition["paths"].items():
        for method, operation in item.items():
            assert operation["security"] == [{name: []}], (method, path)
            integration = operation["x-amazon-apigateway-integration"]
            mapped = integration.get("requestParameters", {})
            if template_routes()[(method.upper(), path)] == "webhooks.handler":
                assert mapped == {
                    "integration.request.header.X-Amz-Tenant-Id": "context.authorizer.tenantId"
                }
            else:
                assert mapped == {}
    assert direct_routes() == [
        ("GET", "/parks"),
        ("GET", "/parks/{parkId}"),
        ("POST", "/parks"),
        ("POST", "/parks/{parkId}/statuses"),
    ]
    assert len(lambda_routes()) == 10


def test_sam_transforms_the_template_and_cfn_lint_accepts_the_result(tmp_path: Path) -> None:
    """Decision 13: cfn-lint reads SAM resources untransformed, so transform offline with
    aws-sam-translator (the included definition and the state machine's file inlined, as
    `sam package` and CloudFormation do) and lint what CloudFormation would deploy."""
    import yaml
    from cfnlint.decode import cfn_yaml
    from samtranslator.translator.transform import transform

    template = json.loads(json.dumps(cfn_yaml.load(str(EXAMPLE / "template.yaml")), default=str))
    api = template["Resources"]["ParksApi"]["Properties"]
    location = api["DefinitionBody"]["Fn::Transform"]["Parameters"]["Location"]
    api["DefinitionBody"] = yaml.safe_load((EXAMPLE / location).read_text())
    machine = template["Resources"]["UpdateParkStatus"]["Properties"]
    machine["Definition"] = json.loads((EXAMPLE / machine.pop("DefinitionUri")).read_text())
    template["Globals"]["Function"]["CodeUri"] = "s3://packaged/app.zip"  # as sam package does

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    output = transform(template, {"AWS::Region": "us-east-1"}, NoManagedPolicies())
    resources = output["Resources"]
    assert resources["WebhooksFunction"]["Properties"]["TenancyConfig"] == {
        "TenantIsolationMode": "PER_TENANT"
    }
    assert resources["UpdateParkStatus"]["Type"] == "AWS::StepFunctions::StateMachine"
    # The webhooks function wears the template's role (SAM generates none for it), and no
    # role SAM generates is named either: CAPABILITY_IAM deploys it under any stack name.
    webhooks_role = resources["WebhooksFunction"]["Properties"]["Role"]
    assert webhooks_role == {"Fn::GetAtt": ["WebhooksFunctionRole", "Arn"]}
    generated = [r for r in resources.values() if r["Type"] == "AWS::IAM::Role"]
    assert len(generated) == len(roles()) + 4  # authorizer, announcer, settings, machine
    assert not any("RoleName" in r["Properties"] for r in generated)
    transformed = tmp_path / "transformed.json"
    transformed.write_text(json.dumps(output))
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run(
        [str(cfn_lint), "--include-checks", "I", "--", str(transformed)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@settings(max_examples=50, deadline=None, derandomize=True, database=None)
@given(action=st.sampled_from(STARTS).flatmap(lambda name: spellings(name)))
def test_attack_no_spelling_of_a_start_action_reaches_another_principal(action: str) -> None:
    """IAM compares actions case-insensitively: however it is spelled, StartExecution is
    granted to nobody, and StartSyncExecution to the integration role alone."""
    may_start = {
        name
        for name, statements in iam_principals().items()
        if allows(statements, action, "UpdateParkStatus")
    }
    sync = action.lower() == "states:startsyncexecution"
    assert may_start == ({"ApiIntegrationRole"} if sync else set())


def test_only_the_webhooks_function_may_assume_the_tenant_data_role() -> None:
    """TenantSessions' credentials reach tenant data; only the webhooks function asks for
    them, through its own role, which the data role trusts by ARN (no name guessed)."""
    resources = load_template()["Resources"]
    data_role = resources["TenantDataRole"]["Properties"]
    # The data role's ARN has its Path and a name CloudFormation generates.
    arn = "arn:${AWS::Partition}:iam::${AWS::AccountId}:role" + data_role["Path"] + "any-name"
    may_assume = {
        name
        for name, statements in iam_principals().items()
        if allows(statements, "sts:AssumeRole", arn)
    }
    assert may_assume == {"WebhooksFunctionRole"}
    [trust] = data_role["AssumeRolePolicyDocument"]["Statement"]
    assert trust == {
        "Effect": "Allow",
        "Principal": {"AWS": "WebhooksFunctionRole.Arn"},
        "Action": "sts:AssumeRole",
    }
    # The role is the webhooks function's alone, and only Lambda may assume it.
    wearers = {
        name
        for name, function in functions().items()
        if function["Properties"].get("Role") == "WebhooksFunctionRole.Arn"
    }
    assert wearers == {"WebhooksFunction"}
    [lambda_trust] = resources["WebhooksFunctionRole"]["Properties"]["AssumeRolePolicyDocument"][
        "Statement"
    ]
    assert lambda_trust["Principal"] == {"Service": "lambda.amazonaws.com"}
    # No other role lives under the data role's path, which the grant names.
    paths = {name: role["Properties"].get("Path") for name, role in roles().items()}
    assert [name for name, path in paths.items() if path == data_role["Path"]] == ["TenantDataRole"]
    environment = resources["WebhooksFunction"]["Properties"]["Environment"]["Variables"]
    assert environment["TENANT_DATA_ROLE_ARN"] == "TenantDataRole.Arn"
    granted = {a for s in iam_principals()["TenantDataRole"] for a in actions(s)}
    assert granted == {"dynamodb:GetItem"}
