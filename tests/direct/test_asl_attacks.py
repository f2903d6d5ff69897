"""Attacks on ``check_state_machine``: machines that address another tenant's keys.

Each machine below was once accepted. The rules the tests hold the check to are written
here: a reference path is parsed by the tests' own reader, an update expression's effect
on the key attributes is observed on moto's DynamoDB, and the reference paths' effect on
the tenant field on moto's Step Functions interpreter.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from tenantkit.direct import UnsafeStateMachineError, check_state_machine
from tests.tables import create_gsi1_table

from .conftest import run_execution

KEYS = ("pk", "GSI1PK")
TENANT_KEY = {"S.$": "States.Format('{}#park#{}', $.tenantId, $.parkId)"}
GOOD_KEY = {"pk": TENANT_KEY, "sk": {"S": "park"}}
TENANT_INDEX_VALUE = {"S.$": "States.Format('{}#park', $.tenantId)"}


def _task(action: str = "getItem", **parameters: Any) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": f"arn:aws:states:::dynamodb:{action}",
        "Parameters": {"TableName": "parks", "Key": copy.deepcopy(GOOD_KEY), **parameters},
        "End": True,
    }


def _machine(states: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"StartAt": next(iter(states)), "States": states, **top}


def _then_get(first: dict[str, Any], **top: Any) -> dict[str, Any]:
    """``first`` (named First) and then a DynamoDB getItem under the tenant's key."""
    return _machine({"First": {**first, "Next": "Get"}, "Get": _task()}, **top)


def _problems(machine: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(UnsafeStateMachineError) as raised:
        check_state_machine(machine, partition_keys=KEYS)
    return raised.value.problems


def _accepted(machine: dict[str, Any]) -> bool:
    try:
        check_state_machine(machine, partition_keys=KEYS)
    except UnsafeStateMachineError:
        return False
    return True


# --- Reference paths ----------------------------------------------------------------------

_NAMES = ["tenantId", "tenantIdX", "tenant", "Tenantid", "result", "x"]


@st.composite
def _reference_paths(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A reference path in dotted or bracket notation, with its segments."""
    names = draw(st.lists(st.sampled_from(_NAMES), max_size=3))
    text = "$"
    for index, name in enumerate(names):
        text += draw(st.sampled_from([f".{name}", f"['{name}']", f'["{name}"]']))
        if index < len(names) - 1 and draw(st.booleans()):
            text += "[0]"
    return text, names


def _writes_tenant(segments: list[str]) -> bool:
    """The tests' rule: a ResultPath replaces the tenant field when it is ``$`` itself or
    lies at or under ``tenantId``."""
    return not segments or segments[0] == "tenantId"


@settings(max_examples=100, deadline=None)
@given(path=_reference_paths())
def test_a_result_path_is_refused_exactly_when_it_reaches_the_tenant(
    path: tuple[str, list[str]],
) -> None:
    text, segments = path
    for state in (
        {"Type": "Pass", "Result": "washington", "ResultPath": text},
        {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "f", "Payload": {"x.$": "$.x"}},
            "ResultPath": None,
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": text, "Next": "Get"}],
        },
    ):
        assert _accepted(_then_get(state)) is not _writes_tenant(segments), text


@pytest.mark.parametrize(
    "path",
    ["$.tenantId ", " $.tenantId", "$..tenantId", "$.*", "$['tenant\\'Id']", "$[tenantId]", "x"],
)
def test_a_result_path_the_check_cannot_read_is_refused(path: str) -> None:
    assert (
        "ResultPath"
        in _problems(_then_get({"Type": "Pass", "Result": 1, "ResultPath": path}))["First"]
    )


@pytest.fixture
def parks_table() -> Iterator[Any]:
    """A parks table (with GSI1) on moto, Step Functions execution turned on."""
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        create_gsi1_table(dynamodb, "parks")
        for tenant in ("texas", "washington"):
            dynamodb.put_item(
                TableName="parks",
                Item={
                    "pk": {"S": f"{tenant}#park#1"},
                    "sk": {"S": "park"},
                    "GSI1PK": {"S": f"{tenant}#park"},
                    "GSI1SK": {"S": "1"},
                    "name": {"S": f"{tenant}'s park"},
                },
            )
        yield dynamodb


@pytest.mark.parametrize("path", ["$['tenantId']", "$.tenantId", "$"])
def test_bracket_result_paths_really_replace_the_tenant_and_are_refused(
    parks_table: Any, path: str
) -> None:
    """On moto's interpreter the machine reads washington's park for texas; the check refuses it."""
    swap = {"Type": "Pass", "Result": "washington", "ResultPath": path}
    if path == "$":
        swap["Result"] = {"tenantId": "washington", "parkId": "1"}
    machine = _then_get(swap)
    described = run_execution(machine, {"tenantId": "texas", "parkId": "1"})
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"])["Item"]["name"] == {"S": "washington's park"}
    assert "ResultPath" in _problems(machine)["First"]


def test_a_result_path_beside_the_tenant_keeps_it(parks_table: Any) -> None:
    machine = _then_get({"Type": "Pass", "Result": "washington", "ResultPath": "$['tenantIdX']"})
    described = run_execution(machine, {"tenantId": "texas", "parkId": "1"})
    assert json.loads(described["output"])["Item"]["name"] == {"S": "texas's park"}
    check_state_machine(machine, partition_keys=KEYS)


# --- JSONata --------------------------------------------------------------------------------

_JSONATA_SWAP = {
    "Type": "Pass",
    "QueryLanguage": "JSONata",
    "Output": {"tenantId": "{% $states.input.victim %}", "parkId": "{% $states.input.parkId %}"},
}


@pytest.mark.parametrize(
    "machine",
    [
        _then_get(_JSONATA_SWAP),
        _then_get(
            {"Type": "Pass", "Output": {"tenantId": "{% $states.input.victim %}"}},
            QueryLanguage="JSONata",
        ),
        _machine({"Get": {**_task(), "QueryLanguage": "JSONPath"}}, QueryLanguage="JSONata"),
        _machine({"Get": {**_task(), "Next": "After"}, "After": {**_JSONATA_SWAP, "End": True}}),
    ],
    ids=["state", "machine", "machine with a JSONPath task", "after the task"],
)
def test_jsonata_anywhere_in_a_machine_with_tenant_tasks_is_refused(
    machine: dict[str, Any],
) -> None:
    assert any("JSONata" in why for why in _problems(machine).values())


def test_jsonata_in_a_machine_without_tenant_tasks_is_left_alone() -> None:
    check_state_machine(_machine({"Swap": {**_JSONATA_SWAP, "End": True}}), partition_keys=KEYS)


# --- Update expressions -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "parameters",
    [
        {
            "UpdateExpression.$": "$.expr",
            "ExpressionAttributeNames.$": "$.names",
            "ExpressionAttributeValues.$": "$.values",
        },
        {
            "UpdateExpression": "SET #s = :s",
            "ExpressionAttributeNames.$": "$.names",
            "ExpressionAttributeValues": {":s": {"S": "x"}},
        },
        {
            "UpdateExpression": "SET #s = :s",
            "ExpressionAttributeNames": {"#s.$": "$.attribute"},
            "ExpressionAttributeValues": {":s": {"S": "x"}},
        },
        {
            "UpdateExpression": "SET #s = :s",
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues.$": "$.values",
        },
        {
            "UpdateExpression": "SET #s = :s",
            "ConditionExpression.$": "$.condition",
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": {":s": {"S": "x"}},
        },
    ],
    ids=["all from input", "names from input", "one name from input", "values", "condition"],
)
def test_expressions_taken_from_the_input_are_refused(parameters: dict[str, Any]) -> None:
    assert "Up" in _problems(_machine({"Up": _task("updateItem", **parameters)}))


@pytest.mark.parametrize("placeholder", ["#0", "#SET", "#_", "#g0"])
def test_any_placeholder_naming_an_index_partition_key_is_checked(placeholder: str) -> None:
    machine = _machine(
        {
            "Up": _task(
                "updateItem",
                UpdateExpression=f"SET {placeholder} = :0",
                ExpressionAttributeNames={placeholder: "GSI1PK"},
                ExpressionAttributeValues={":0": {"S.$": "$.victimPartition"}},
            )
        }
    )
    assert "UpdateExpression" in _problems(machine)["Up"]
    machine["States"]["Up"]["Parameters"]["ExpressionAttributeValues"][":0"] = TENANT_INDEX_VALUE
    check_state_machine(machine, partition_keys=KEYS)


_REFERENCES = ["#0", "#g", "#SET", "#c", "GSI1PK", "GSI1SK", "colour"]
_NAMED = {"#0": "GSI1PK", "#g": "GSI1PK", "#SET": "GSI1SK", "#c": "colour"}
_RIGHT = [":t", ":w", "if_not_exists({ref}, :w)", "{ref}"]


@st.composite
def _updates(draw: st.DrawFn) -> str:
    """A SET/REMOVE update expression over the key and plain attributes."""
    clauses = []
    for keyword in draw(
        st.lists(st.sampled_from(["SET", "set", "REMOVE"]), min_size=1, unique=True)
    ):
        items = []
        for _ in range(draw(st.integers(1, 2))):
            target = draw(st.sampled_from(_REFERENCES))
            if keyword.upper() == "REMOVE":
                items.append(target)
            else:
                right = draw(st.sampled_from(_RIGHT)).format(ref=draw(st.sampled_from(_REFERENCES)))
                items.append(f"{target}{draw(st.sampled_from([' = ', '=']))}{right}")
        clauses.append(f"{keyword} {', '.join(items)}")
    return " ".join(clauses)


def _used(expression: str, pattern: str) -> list[str]:
    return sorted(set(re.findall(pattern, expression)))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(expression=_updates())
def test_an_accepted_update_leaves_every_index_partition_key_in_the_tenant(
    parks_table: Any, expression: str
) -> None:
    """moto's DynamoDB applies the update for texas; if the check accepted the machine,
    GSI1PK is still texas's (or gone)."""
    names = {n: _NAMED[n] for n in _used(expression, r"#[A-Za-z0-9_]+")}
    values = _used(expression, r":[a-z]+")
    machine_values = {":t": TENANT_INDEX_VALUE, ":w": {"S": "washington#park"}}
    parameters: dict[str, Any] = {"UpdateExpression": expression}
    if names:
        parameters["ExpressionAttributeNames"] = names
    if values:
        parameters["ExpressionAttributeValues"] = {v: machine_values[v] for v in values}
    accepted = _accepted(_machine({"Up": _task("updateItem", **parameters)}))
    key = {"pk": {"S": "texas#park#1"}, "sk": {"S": "park"}}
    parks_table.put_item(
        TableName="parks",
        Item={**key, "GSI1PK": {"S": "texas#park"}, "GSI1SK": {"S": "1"}, "colour": {"S": "x"}},
    )
    concrete = {":t": {"S": "texas#park"}, ":w": {"S": "washington#park"}}
    try:
        parks_table.update_item(
            TableName="parks",
            Key=key,
            UpdateExpression=expression,
            **({"ExpressionAttributeNames": names} if names else {}),
            **({"ExpressionAttributeValues": {v: concrete[v] for v in values}} if values else {}),
        )
    except parks_table.exceptions.ClientError:
        return  # DynamoDB refused the expression: nothing was written
    item = parks_table.get_item(TableName="parks", Key=key)["Item"]
    moved = "GSI1PK" in item and not item["GSI1PK"]["S"].startswith("texas#")
    assert not (accepted and moved), expression


def test_the_hash_zero_attack_really_moves_an_item_into_another_tenants_index(
    parks_table: Any,
) -> None:
    key = {"pk": {"S": "texas#park#1"}, "sk": {"S": "park"}}
    parks_table.update_item(
        TableName="parks",
        Key=key,
        UpdateExpression="SET #0 = :0",
        ExpressionAttributeNames={"#0": "GSI1PK"},
        ExpressionAttributeValues={":0": {"S": "washington#park"}},
    )
    found = parks_table.query(
        TableName="parks",
        IndexName="GSI1",
        KeyConditionExpression="GSI1PK = :p",
        ExpressionAttributeValues={":p": {"S": "washington#park"}},
    )["Items"]
    assert {item["pk"]["S"] for item in found} == {"texas#park#1", "washington#park#1"}


# --- Keys given twice, resources ------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "action"), [("Key", "getItem"), ("Key", "deleteItem"), ("Item", "putItem")]
)
def test_a_partition_key_also_given_as_a_path_is_refused(field: str, action: str) -> None:
    task = _task(action)
    if field == "Item":
        task["Parameters"]["Item"] = task["Parameters"].pop("Key")
    task["Parameters"][field]["pk.$"] = "$.victimKey"
    assert "Only" in _problems(_machine({"Only": task}))
    del task["Parameters"][field]["pk"]
    assert "Only" in _problems(_machine({"Only": task}))


def test_an_index_partition_key_written_from_a_path_is_refused() -> None:
    task = _task("putItem")
    task["Parameters"]["Item"] = {**GOOD_KEY, "GSI1PK.$": "$.victimPartition"}
    assert "Put" in _problems(_machine({"Put": task}))


@pytest.mark.parametrize(
    "resource",
    [
        "${DDBUpdateItem}",
        "arn:aws:states:::${Service}:updateItem",
        "arn:${AWS::Partition}:states:::dynamodb:updateItem",
    ],
)
def test_an_unresolved_resource_is_refused(resource: str) -> None:
    task = _task("updateItem", Key={"pk": {"S.$": "$.anyKey"}, "sk": {"S": "park"}})
    task["Resource"] = resource
    assert "unresolved" in _problems(_machine({"Up": task}))["Up"]


def test_a_resource_that_is_not_text_is_refused() -> None:
    task = _task()
    task["Resource"] = {"Fn::GetAtt": ["Function", "Arn"]}
    assert "Get" in _problems(_machine({"Get": task}))


# --- Tasks that hand the tenant on (Lambda, nested executions) ------------------------------

_INVOKE = "arn:aws:states:::lambda:invoke"
_LEGACY = "arn:aws:lambda:us-east-1:123456789012:function:announcer"
_START = "arn:aws:states:::states:startExecution.sync:2"
_SDK_START = "arn:aws:states:::aws-sdk:sfn:startExecution"
_CHILD = "arn:aws:states:us-east-1:123456789012:stateMachine:Child"


def _handoff(resource: str, **parameters: Any) -> dict[str, Any]:
    state: dict[str, Any] = {"Type": "Task", "Resource": resource, "End": True}
    if resource == _INVOKE:
        state["Parameters"] = {"FunctionName": "announcer", **parameters}
    elif resource in {_START, _SDK_START}:
        state["Parameters"] = {"StateMachineArn": _CHILD, **parameters}
    elif parameters:
        state["Parameters"] = parameters["Payload"]
    return state


@pytest.mark.parametrize(
    ("resource", "parameters"),
    [
        (_INVOKE, {"Payload": {"tenantId.$": "$.parkId", "status.$": "$.status"}}),
        (_INVOKE, {"Payload": {"tenantId": "washington"}}),
        (_INVOKE, {"Payload": {"tenantId": "texas", "tenantId.$": "$.tenantId"}}),
        (_INVOKE, {"Payload.$": "$.detail"}),
        (_INVOKE, {"Payload.$": "States.JsonMerge($, $.override, false)"}),
        (_INVOKE, {"Payload": '{"tenantId": "washington"}'}),
        (_INVOKE, {"Payload": {"x": 1}, "Payload.$": "$"}),
        (_LEGACY, {"Payload": {"tenantId.$": "$.victim"}}),
        (_START, {"Input": {"tenantId.$": "$.victim"}}),
        (_START, {"Input": {"tenantId": "washington"}}),
        (_START, {"Input.$": "$.child"}),
        (_SDK_START, {"Input.$": "States.JsonToString($.child)"}),
        (_SDK_START, {"Input": '{"tenantId": "washington"}'}),
    ],
)
def test_a_handed_on_tenant_not_taken_from_the_input_is_refused(
    resource: str, parameters: dict[str, Any]
) -> None:
    assert "Hand" in _problems(_machine({"Hand": _handoff(resource, **parameters)}))


@pytest.mark.parametrize(
    ("resource", "parameters"),
    [
        (_INVOKE, {"Payload": {"tenantId.$": "$.tenantId", "status.$": "$.status"}}),
        (_INVOKE, {"Payload.$": "$"}),
        (_INVOKE, {"Payload": {"status.$": "$.status"}}),
        (_LEGACY, {}),
        (_LEGACY, {"Payload": {"tenantId.$": "$.tenantId"}}),
        (_START, {"Input": {"tenantId.$": "$.tenantId", "parkId.$": "$.parkId"}}),
        (_START, {"Input.$": "$"}),
        (_SDK_START, {"Input.$": "States.JsonToString($)"}),
    ],
)
def test_a_tenant_handed_on_from_the_input_passes(
    resource: str, parameters: dict[str, Any]
) -> None:
    check_state_machine(_machine({"Hand": _handoff(resource, **parameters)}), partition_keys=KEYS)


def _update_then(handoff: dict[str, Any], **update: Any) -> dict[str, Any]:
    """The example's shape: update the park, then hand the tenant to a task."""
    first = _task(
        "updateItem",
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S.$": "$.status"}},
    )
    first.pop("End")
    return _machine(
        {"Update": {**first, "ResultPath": None, **update, "Next": "Hand"}, "Hand": handoff}
    )


@pytest.mark.parametrize(
    "handoff",
    [
        _handoff(_INVOKE, Payload={"tenantId.$": "$.tenantId"}),
        _handoff(_INVOKE, **{"Payload.$": "$"}),
        _handoff(_LEGACY),
        _handoff(_START, Input={"tenantId.$": "$.tenantId"}),
    ],
)
def test_nothing_may_replace_the_tenant_before_a_task_that_hands_it_on(
    handoff: dict[str, Any],
) -> None:
    check_state_machine(_update_then(handoff), partition_keys=KEYS)
    selector = {"tenantId.$": "$.Attributes.owner.S"}
    for change in (
        {"ResultPath": "$", "ResultSelector": selector},
        {"ResultPath": "$['tenantId']"},
        {"OutputPath": "$.Attributes"},
    ):
        assert list(_problems(_update_then(handoff, **change))) == ["Update"], change


def test_a_task_that_hands_on_no_tenant_may_follow_anything() -> None:
    handoff = _handoff(_INVOKE, Payload={"status.$": "$.status"})
    check_state_machine(_update_then(handoff, ResultPath="$"), partition_keys=KEYS)


def test_a_map_or_parallel_around_a_handing_task_must_carry_the_tenant() -> None:
    inner = {"StartAt": "Hand", "States": {"Hand": _handoff(_INVOKE, **{"Payload.$": "$"})}}
    mapped = _machine(
        {"Each": {"Type": "Map", "ItemsPath": "$.parks", "ItemProcessor": inner, "End": True}}
    )
    assert "Each" in _problems(mapped)
    mapped["States"]["Each"]["ItemSelector"] = {
        "tenantId.$": "$.tenantId",
        "p.$": "$$.Map.Item.Value",
    }
    check_state_machine(mapped, partition_keys=KEYS)
    mapped["States"]["Each"]["ItemSelector"]["tenantId"] = "washington"
    assert "Each" in _problems(mapped)
    mapped["States"]["Each"]["ItemSelector"].pop("tenantId")
    mapped["States"]["Each"]["ItemBatcher"] = {"BatchInput": {"tenantId.$": "$.victim"}}
    assert "Each" in _problems(mapped)
    parallel = _machine(
        {
            "Both": {
                "Type": "Parallel",
                "Branches": [inner],
                "Parameters": {"tenantId.$": "$.victim"},
                "End": True,
            }
        }
    )
    assert "Both" in _problems(parallel)


def test_a_table_named_by_the_input_is_refused() -> None:
    """The execution input holds no table the authorizer chose (decision 6): a caller's
    field would name another tenant's silo table."""
    task = _task()
    del task["Parameters"]["TableName"]
    task["Parameters"]["TableName.$"] = "$.table"
    assert "TableName" in _problems(_machine({"Get": task}))["Get"]


def test_an_async_lambda_invoke_is_checked() -> None:
    state = {
        "Type": "Task",
        "Resource": "arn:aws:states:::aws-sdk:lambda:invokeAsync",
        "Parameters": {"FunctionName": "announcer", "InvokeArgs": {"tenantId.$": "$.victim"}},
        "End": True,
    }
    assert "Hand" in _problems(_machine({"Hand": state}))
    state["Parameters"]["InvokeArgs"] = {"tenantId.$": "$.tenantId"}
    check_state_machine(_machine({"Hand": state}), partition_keys=KEYS)
