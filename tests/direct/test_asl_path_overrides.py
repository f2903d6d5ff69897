"""Attacks on ``check_state_machine``: a field given both literally and as a path.

The check reads a task's literal ``TableName`` and ``ExpressionAttributeValues``; when a
``<field>.$`` sibling is also there, the path is what runs (moto's interpreter, the oracle
here, takes it), so the literal the check verified is not the one used.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tenantkit.direct import UnsafeStateMachineError, check_state_machine

from .conftest import run_execution

KEYS = ("pk", "GSI1PK")
KEY = {"pk": {"S.$": "States.Format('{}#park#{}', $.tenantId, $.parkId)"}}
TENANT_INDEX_VALUE = {"S.$": "States.Format('{}#park', $.tenantId)"}


def _machine(action: str, **parameters: Any) -> dict[str, Any]:
    task = {
        "Type": "Task",
        "Resource": f"arn:aws:states:::dynamodb:{action}",
        "Parameters": {"TableName": "parks", "Key": KEY, **parameters},
        "End": True,
    }
    return {"StartAt": "Task", "States": {"Task": task}}


def _table_from_input() -> dict[str, Any]:
    return _machine("getItem", **{"TableName.$": "$.table"})


def _index_key_from_input() -> dict[str, Any]:
    return _machine(
        "updateItem",
        UpdateExpression="SET #0 = :0",
        ExpressionAttributeNames={"#0": "GSI1PK"},
        ExpressionAttributeValues={":0": TENANT_INDEX_VALUE, ":0.$": "$.victimPartition"},
    )


@pytest.fixture
def tables() -> Iterator[Any]:
    """texas's park in the pool table ``parks`` and in washington's silo table, on moto."""
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        for table in ("parks", "washington-silo"):
            dynamodb.create_table(
                TableName=table,
                BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            )
            item = {"pk": {"S": "texas#park#1"}, "GSI1PK": {"S": "texas#park"}}
            dynamodb.put_item(TableName=table, Item={**item, "in": {"S": table}})
        yield dynamodb


def test_a_table_path_beside_a_fixed_table_names_the_table(tables: Any) -> None:
    machine = _table_from_input()
    described = run_execution(
        machine, {"tenantId": "texas", "parkId": "1", "table": "washington-silo"}
    )
    assert json.loads(described["output"])["Item"]["in"] == {"S": "washington-silo"}
    with pytest.raises(UnsafeStateMachineError, match="TableName"):
        check_state_machine(machine, partition_keys=KEYS)


def test_a_value_path_beside_a_tenant_value_moves_the_index_key(tables: Any) -> None:
    machine = _index_key_from_input()
    victim = {"S": "washington#park"}
    run_execution(machine, {"tenantId": "texas", "parkId": "1", "victimPartition": victim})
    item = tables.get_item(TableName="parks", Key={"pk": {"S": "texas#park#1"}})["Item"]
    assert item["GSI1PK"] == victim
    with pytest.raises(UnsafeStateMachineError, match="ExpressionAttributeValues"):
        check_state_machine(machine, partition_keys=KEYS)
