"""Step Functions helpers: tenant-prefixed task keys, and the state machine check."""

from __future__ import annotations

import copy
import json
import re
import time
import uuid
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tenantkit import TenantContext, tenant_scope
from tenantkit.direct import UnsafeStateMachineError, check_state_machine, states_format, task_key
from tenantkit.dynamo import TenantTable
from tenantkit.errors import ConfigurationError

KEYS = ("pk", "GSI1PK")


def _format(expression: str, data: dict[str, Any]) -> str:
    """The tests' States.Format: '{}' filled from JSONPaths, left to right."""
    pattern, arguments = re.fullmatch(r"States\.Format\('(.*)', (.*)\)", expression).groups()
    values = [data[path.strip()[2:]] for path in arguments.split(",")]
    return re.sub(r"\{\}", lambda _: str(values.pop(0)), pattern)


def test_states_format_builds_keys_in_the_tables_format() -> None:
    expression = states_format("park#{parkId}")
    assert expression == "States.Format('{}#park#{}', $.tenantId, $.parkId)"
    assert _format(expression, {"tenantId": "texas", "parkId": "big-bend"}) == "texas#park#big-bend"
    assert states_format("park", tenant_path="$.tenant") == "States.Format('{}#park', $.tenant)"
    assert states_format("{parkId}", prefixed=False) == "$.parkId"
    assert states_format("status#{detail.status}", prefixed=False) == (
        "States.Format('status#{}', $.detail.status)"
    )
    with pytest.raises(ConfigurationError):
        states_format("park#{$.x}")
    with pytest.raises(ConfigurationError):
        states_format("park'{x}")


def test_task_key_prefixes_partition_keys_only() -> None:
    assert task_key({"pk": "park#{parkId}", "sk": "park"}, partition_keys=KEYS) == {
        "pk": {"S.$": "States.Format('{}#park#{}', $.tenantId, $.parkId)"},
        "sk": {"S": "park"},
    }
    assert task_key({"pk": "p", "sk": "{at}"}, partition_keys=KEYS)["sk"] == {"S.$": "$.at"}


def _machine() -> dict[str, Any]:
    """UpdateParkStatus: update the park under the tenant's key, then publish (a Lambda)."""
    return {
        "StartAt": "Update",
        "States": {
            "Update": {
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:updateItem",
                "Parameters": {
                    "TableName": "parks",
                    "Key": task_key({"pk": "park#{parkId}", "sk": "park"}, partition_keys=KEYS),
                    "UpdateExpression": "SET #s = :s",
                    "ConditionExpression": "attribute_exists(pk)",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {":s": {"S.$": "$.status"}},
                },
                "ResultPath": None,
                "Next": "Publish",
            },
            "Publish": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "publish", "Payload.$": "$"},
                "End": True,
            },
        },
    }


def test_a_safe_machine_passes() -> None:
    check_state_machine(_machine(), partition_keys=KEYS)
    check_state_machine(json.dumps(_machine()), partition_keys=KEYS)


def _update(machine: dict[str, Any]) -> dict[str, Any]:
    state: dict[str, Any] = machine["States"]["Update"]
    return state


def _refused(machine: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(UnsafeStateMachineError) as raised:
        check_state_machine(machine, partition_keys=KEYS)
    assert isinstance(raised.value, ConfigurationError)
    assert set(raised.value.states) == set(raised.value.problems)
    return raised.value.problems


@pytest.mark.parametrize(
    "value",
    [
        {"S": "texas#park#x"},
        {"S.$": "$.pk"},
        {"S.$": "States.Format('park#{}#{}', $.parkId, $.tenantId)"},
        {"S.$": "States.Format('{}#park#{}', $.detail.tenantId, $.parkId)"},
        {"S.$": "States.Format('{}#park#{}', $.tenantIdX, $.parkId)"},
        {"S.$": "States.Format('{}park#{}', $.tenantId, $.parkId)"},
        {"S.$": "States.Format('{}#park#{}', $.parkId, $.tenantId)"},
        {"S.$": "States.Format('{}#park#{}', $.tenantId, $.parkId)", "S": "x"},
    ],
)
def test_a_partition_key_not_built_from_the_tenant_is_refused(value: dict[str, str]) -> None:
    machine = _machine()
    _update(machine)["Parameters"]["Key"]["pk"] = value
    assert list(_refused(machine)) == ["Update"]


def _with(change: dict[str, Any], state: str = "Update") -> dict[str, Any]:
    machine = _machine()
    machine["States"][state].update(change)
    return machine


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"Resource": "arn:aws:states:::aws-sdk:dynamodb:query"}, "cannot be verified"),
        ({"Resource": "arn:aws:states:::aws-sdk:dynamodb:scan"}, "cannot be verified"),
        (
            {"Resource": "arn:aws:states:::aws-sdk:dynamodb:transactWriteItems"},
            "cannot be verified",
        ),
        ({"QueryLanguage": "JSONata"}, "JSONata"),
        ({"InputPath": "$.detail"}, "InputPath"),
        ({"Parameters": {"TableName": "parks", "Key.$": "$.key"}}, "whole from a path"),
        ({"Parameters": {"TableName": "parks", "Key": {"sk": {"S": "park"}}}}, "no partition key"),
    ],
)
def test_unverifiable_dynamodb_tasks_are_refused(change: dict[str, Any], why: str) -> None:
    assert why in _refused(_with(change))["Update"]


def test_an_update_that_moves_an_index_partition_key_must_use_the_tenant() -> None:
    machine = _machine()
    parameters = _update(machine)["Parameters"]
    parameters["UpdateExpression"] = "SET #s = :s, #g = :g"
    parameters["ExpressionAttributeNames"]["#g"] = "GSI1PK"
    parameters["ExpressionAttributeValues"][":g"] = {"S": "washington#park"}
    assert "UpdateExpression" in _refused(machine)["Update"]
    parameters["ExpressionAttributeValues"][":g"] = {"S.$": states_format("park")}
    check_state_machine(machine, partition_keys=KEYS)
    parameters["UpdateExpression"] = "SET #s = :s REMOVE GSI1PK"
    assert "UpdateExpression" in _refused(machine)["Update"]


def _before(state: dict[str, Any]) -> dict[str, Any]:
    """The machine with ``state`` (named First) running before the update."""
    machine = _machine()
    machine["StartAt"] = "First"
    machine["States"]["First"] = {**state, "Next": "Update"}
    return machine


LAMBDA = {
    "Type": "Task",
    "Resource": "arn:aws:states:::lambda:invoke",
    "Parameters": {"FunctionName": "f"},
}


@pytest.mark.parametrize(
    ("state", "safe"),
    [
        (LAMBDA, False),  # its result replaces the input, tenantId included
        ({**LAMBDA, "ResultPath": "$"}, False),
        ({**LAMBDA, "ResultPath": "$.tenantId"}, False),
        ({**LAMBDA, "ResultPath": "$.tenantId.x"}, False),
        ({**LAMBDA, "ResultPath": "$.result"}, True),
        ({**LAMBDA, "ResultPath": None}, True),
        ({**LAMBDA, "ResultPath": "$.result", "OutputPath": "$.result"}, False),
        (
            {
                **LAMBDA,
                "ResultPath": "$.result",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Update"}],
            },
            False,
        ),
        (
            {
                **LAMBDA,
                "ResultPath": "$.r",
                "Catch": [
                    {"ErrorEquals": ["States.ALL"], "Next": "Update", "ResultPath": "$.error"}
                ],
            },
            True,
        ),
        ({"Type": "Pass", "Parameters": {"tenantId": "washington"}}, False),
        ({"Type": "Pass", "Result": {"x": 1}, "ResultPath": "$.x"}, True),
        ({"Type": "Pass"}, True),
        ({"Type": "Wait", "Seconds": 1, "InputPath": "$.detail"}, False),
    ],
)
def test_states_that_can_replace_the_tenant_before_a_task_are_refused(
    state: dict[str, Any], safe: bool
) -> None:
    machine = _before(copy.deepcopy(state))
    if safe:
        check_state_machine(machine, partition_keys=KEYS)
    else:
        assert list(_refused(machine)) == ["First"]


def test_states_after_the_last_dynamodb_task_may_do_anything() -> None:
    machine = _machine()
    machine["States"]["Publish"]["ResultPath"] = "$"
    machine["States"]["Publish"]["OutputPath"] = "$.Payload"
    check_state_machine(machine, partition_keys=KEYS)


def test_nested_machines_are_checked() -> None:
    update = _update(_machine())
    parallel = {
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "End": True,
                "Branches": [
                    {"StartAt": "Good", "States": {"Good": {**update, "End": True}}},
                    {"StartAt": "Bad", "States": {"Bad": {**copy.deepcopy(update), "End": True}}},
                ],
            }
        },
    }
    parallel["States"]["Both"]["Branches"][1]["States"]["Bad"]["Parameters"]["Key"]["pk"] = {
        "S": "x"
    }
    parallel["States"]["Both"]["Branches"][1]["States"]["Bad"].pop("Next")
    parallel["States"]["Both"]["Branches"][0]["States"]["Good"].pop("Next")
    assert list(_refused(parallel)) == ["Both/Bad"]
    processor = {"StartAt": "Each", "States": {"Each": {**update, "End": True}}}
    processor["States"]["Each"].pop("Next")
    mapped: dict[str, Any] = {
        "StartAt": "Each park",
        "States": {
            "Each park": {
                "Type": "Map",
                "ItemsPath": "$.parks",
                "ItemProcessor": processor,
                "End": True,
            }
        },
    }
    assert list(_refused(mapped)) == ["Each park"]
    mapped["States"]["Each park"]["ItemSelector"] = {
        "tenantId.$": "$.tenantId",
        "parkId.$": "$$.Map.Item.Value",
    }
    check_state_machine(mapped, partition_keys=KEYS)


def test_every_offending_state_is_listed() -> None:
    machine = _before(LAMBDA)
    _update(machine)["Parameters"]["Key"]["pk"] = {"S": "x"}
    problems = _refused(machine)
    assert set(problems) == {"First", "Update"}


def test_the_helpers_keys_run_on_moto_step_functions_and_tenant_table_reads_them() -> None:
    """The task key built by task_key addresses the item TenantTable wrote for the tenant."""
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName="parks",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk")],
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
        )
        table = TenantTable("parks", indexes={}, client=dynamodb)
        for tenant in ("texas", "washington"):
            with tenant_scope(TenantContext(tenant, "u")):
                table.put_item({"pk": "park#big-bend", "sk": "park", "status": "park-opened"})
        machine = _machine()
        machine["States"]["Update"]["End"] = True
        del machine["States"]["Update"]["Next"], machine["States"]["Publish"]
        check_state_machine(machine, partition_keys=KEYS)
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        arn = sfn.create_state_machine(
            name="UpdateParkStatus",
            definition=json.dumps(machine),
            roleArn="arn:aws:iam::123456789012:role/sfn",
        )["stateMachineArn"]
        execution = sfn.start_execution(
            stateMachineArn=arn,
            name=uuid.uuid4().hex,
            input=json.dumps(
                {
                    "tenantId": "texas",
                    "userId": "alice",
                    "parkId": "big-bend",
                    "status": "park-closed",
                }
            ),
        )["executionArn"]
        for _ in range(100):
            status = sfn.describe_execution(executionArn=execution)["status"]
            if status != "RUNNING":
                break
            time.sleep(0.02)
        assert status == "SUCCEEDED"
        statuses = {}
        for tenant in ("texas", "washington"):
            with tenant_scope(TenantContext(tenant, "u")):
                item = table.get_item({"pk": "park#big-bend", "sk": "park"})
                assert item is not None
                statuses[tenant] = item["status"]
        assert statuses == {"texas": "park-closed", "washington": "park-opened"}


def test_substitutions_are_applied_before_the_check() -> None:
    machine = _machine()
    _update(machine)["Resource"] = "${UpdateItem}"
    _update(machine)["Parameters"]["TableName"] = "${ParksTable}"
    assert "unresolved" in _refused(machine)["Update"]
    substitutions = {"UpdateItem": "arn:aws:states:::dynamodb:updateItem", "ParksTable": "parks"}
    check_state_machine(machine, partition_keys=KEYS, substitutions=substitutions)
    _update(machine)["Parameters"]["Key"]["pk"] = {"S": "x"}
    assert list(_refused_with(machine, substitutions)) == ["Update"]


def _refused_with(machine: dict[str, Any], substitutions: dict[str, str]) -> dict[str, str]:
    with pytest.raises(UnsafeStateMachineError) as raised:
        check_state_machine(machine, partition_keys=KEYS, substitutions=substitutions)
    return raised.value.problems
