"""State machines: created from the template, run by moto's interpreter, synchronously."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantkit.local.backend import Backend
from tenantkit.local.functions import Runtime
from tenantkit.local.stack import build_stack
from tenantkit.local.stack_specs import Stack
from tenantkit.local.stepfunctions import start_sync_execution, wire_response
from tenantkit.local.template import TemplateError, parse_template
from tests.local.conftest import ORCHESTRATION, aws_client, build_on, running_backend

SYNC_KEYS = {
    "executionArn",
    "stateMachineArn",
    "name",
    "startDate",
    "stopDate",
    "status",
    "input",
    "inputDetails",
    "billingDetails",
}


@pytest.fixture(scope="module")
def backend() -> Iterator[Backend]:
    """One backend for the module: every template below builds on it, under its own name."""
    with running_backend() as backend:
        yield backend


@pytest.fixture(scope="module")
def stack(backend: Backend) -> Stack:
    return build_stack(parse_template(ORCHESTRATION), backend)


def _arn(stack: Stack, logical_id: str) -> str:
    return str(stack.attributes[logical_id].atts["Arn"])


def _park(stack: Stack, tenant: str, park: str, **attributes: str) -> None:
    item = {"pk": {"S": f"{tenant}#park#{park}"}} | {k: {"S": v} for k, v in attributes.items()}
    aws_client("dynamodb").put_item(TableName=stack.attributes["Table"].ref, Item=item)


def _stored(stack: Stack, key: str) -> dict[str, Any] | None:
    item = aws_client("dynamodb").get_item(
        TableName=stack.attributes["Table"].ref, Key={"pk": {"S": key}}
    )
    found: dict[str, Any] | None = item.get("Item")
    return found


def _run(stack: Stack, machine: str, document: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return start_sync_execution(
        aws_client("stepfunctions"),
        state_machine_arn=_arn(stack, machine),
        input=json.dumps(document),
        **extra,
    )


def test_the_machine_updates_the_tenant_prefixed_key_and_publishes(stack: Stack) -> None:
    sqs, sns = aws_client("sqs"), aws_client("sns")
    inbox = sqs.create_queue(QueueName="published")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])
    sns.subscribe(
        TopicArn=stack.attributes["Topic"].ref,
        Protocol="sqs",
        Endpoint=inbox_arn["Attributes"]["QueueArn"],
    )
    _park(stack, "t1", "p1", parkStatus="open")
    _park(stack, "t2", "p1", parkStatus="open")
    document = {"tenantId": "t1", "parkId": "p1", "status": "closed", "notify": True}

    response = _run(stack, "UpdateParkStatus", document)

    assert response["status"] == "SUCCEEDED"
    assert set(response) == SYNC_KEYS | {"output", "outputDetails"}
    assert json.loads(response["output"]) == document
    assert json.loads(response["input"]) == document
    assert _stored(stack, "t1#park#p1") == {
        "pk": {"S": "t1#park#p1"},
        "parkStatus": {"S": "closed"},
    }
    assert (_stored(stack, "t2#park#p1") or {})["parkStatus"] == {"S": "open"}
    (message,) = sqs.receive_message(QueueUrl=inbox, WaitTimeSeconds=1)["Messages"]
    assert json.loads(json.loads(message["Body"])["Message"]) == document


def test_the_choice_skips_the_publish_unless_asked(stack: Stack) -> None:
    _park(stack, "t1", "quiet", parkStatus="open")
    response = _run(stack, "UpdateParkStatus", {"tenantId": "t1", "parkId": "quiet", "status": "x"})
    assert response["status"] == "SUCCEEDED"
    assert (_stored(stack, "t1#park#quiet") or {})["parkStatus"] == {"S": "x"}


def test_a_failed_condition_is_caught_by_its_dynamodb_error_name(stack: Stack) -> None:
    _park(stack, "t1", "p2", parkStatus="open")
    response = _run(stack, "UpdateParkStatus", {"tenantId": "t2", "parkId": "p2", "status": "x"})
    assert (response["status"], response["error"], response["cause"]) == (
        "FAILED",
        "NotFound",
        "no such park",
    )
    assert "output" not in response
    assert _stored(stack, "t2#park#p2") is None  # no upsert into the other tenant
    assert (_stored(stack, "t1#park#p2") or {})["parkStatus"] == {"S": "open"}


def test_an_uncaught_failed_condition_fails_with_the_dynamodb_error(stack: Stack) -> None:
    response = _run(stack, "RawUpdate", {"tenantId": "t9", "parkId": "none", "status": "x"})
    assert response["status"] == "FAILED"
    assert response["error"] == "DynamoDB.ConditionalCheckFailedException"


def test_every_sync_execution_runs_even_under_one_name(stack: Stack) -> None:
    _park(stack, "t1", "p3", parkStatus="open")
    first = _run(
        stack, "UpdateParkStatus", {"tenantId": "t1", "parkId": "p3", "status": "a"}, name="n"
    )
    second = _run(
        stack, "UpdateParkStatus", {"tenantId": "t1", "parkId": "p3", "status": "b"}, name="n"
    )
    assert (first["name"], second["name"]) == ("n", "n")
    assert first["executionArn"] != second["executionArn"]
    assert (_stored(stack, "t1#park#p3") or {})["parkStatus"] == {"S": "b"}


def test_a_standard_machine_refuses_sync_executions_as_aws_does(stack: Stack) -> None:
    with pytest.raises(ClientError) as raised:
        _run(stack, "Standard", {})
    assert raised.value.response["Error"]["Code"] == "StateMachineTypeNotSupported"


@pytest.mark.parametrize(
    ("execution_input", "name", "code"),
    [
        ("not json", None, "InvalidExecutionInput"),
        ('{"a": 1', None, "InvalidExecutionInput"),
        (json.dumps("x" * 262_143), None, "InvalidExecutionInput"),  # 262,145 bytes
        ("{}", "", "InvalidName"),
        ("{}", "n" * 81, "InvalidName"),
        ("{}", "a/b", "InvalidName"),
        ("{}", "a b", "InvalidName"),
        ("{}", "a\x00", "InvalidName"),
    ],
)
def test_requests_the_service_refuses_are_its_400s(
    stack: Stack, execution_input: str, name: str | None, code: str
) -> None:
    with pytest.raises(ClientError) as raised:
        start_sync_execution(
            aws_client("stepfunctions"),
            state_machine_arn=_arn(stack, "RawUpdate"),
            input=execution_input,
            name=name,
        )
    assert raised.value.response["Error"]["Code"] == code
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


# AWS's rule for execution names, written out: 1 to 80 characters, none of them
# whitespace, a bracket, a wildcard, a control character or one of "#%\\^|~`$&,;:/.
_NAME_SPECIALS = set('<>{}[]?*"#%\\^|~`$&,;:/')


def _valid_name(name: str) -> bool:
    def allowed(char: str) -> bool:
        code = ord(char)
        control = code < 0x20 or 0x7F <= code <= 0x9F
        return not (char.isspace() or control or char in _NAME_SPECIALS)

    return 1 <= len(name) <= 80 and all(allowed(c) for c in name)


class _Reached(Exception):
    """The request passed the local checks and reached the backend."""


class _NoBackend:
    def describe_state_machine(self, **kwargs: Any) -> Any:
        raise _Reached


@settings(max_examples=100)
@given(st.text(max_size=90) | st.text(alphabet=st.characters(max_codepoint=0xA0), max_size=82))
def test_execution_names_follow_aws_rule(name: str) -> None:
    def start() -> None:
        start_sync_execution(_NoBackend(), state_machine_arn="arn", input="{}", name=name)

    if _valid_name(name):
        with pytest.raises(_Reached):
            start()
    else:
        with pytest.raises(ClientError) as raised:
            start()
        assert raised.value.response["Error"]["Code"] == "InvalidName"


def test_an_input_at_the_size_limit_runs(stack: Stack) -> None:
    padding = "x" * (262_144 - len(json.dumps({"tenantId": "t9", "parkId": "p", "pad": ""})))
    document = {"tenantId": "t9", "parkId": "p", "pad": padding}
    assert len(json.dumps(document).encode()) == 262_144
    response = _run(stack, "RawUpdate", document, name="n" * 80)
    assert (response["status"], response["name"]) == ("FAILED", "n" * 80)


def test_an_unknown_machine_is_the_backends_client_error(stack: Stack) -> None:
    missing = _arn(stack, "Standard").replace("Standard", "Missing")
    with pytest.raises(ClientError) as raised:
        start_sync_execution(aws_client("stepfunctions"), state_machine_arn=missing)
    assert raised.value.response["Error"]["Code"] == "StateMachineDoesNotExist"


def test_an_execution_past_the_machines_timeout_is_timed_out(stack: Stack) -> None:
    response = _run(stack, "Slow", {})
    assert response["status"] == "TIMED_OUT"
    assert "output" not in response


def test_the_wire_response_is_json_with_epoch_dates(stack: Stack) -> None:
    response = _run(stack, "RawUpdate", {"tenantId": "t9", "parkId": "none", "status": "x"})
    wire = json.loads(json.dumps(wire_response(response)))
    assert isinstance(response["startDate"], datetime)
    assert wire["startDate"] == response["startDate"].timestamp()
    assert wire["stopDate"] >= wire["startDate"]
    assert wire["billingDetails"]["billedDurationInMilliseconds"] % 100 == 0


def test_machine_ref_and_getatt_reach_function_environments(stack: Stack) -> None:
    environment = stack.functions["Recorder"].environment
    assert environment["MACHINE_ARN"] == _arn(stack, "UpdateParkStatus")
    assert environment["MACHINE_ARN"].endswith(":stateMachine:tenantkit-local-UpdateParkStatus")
    assert environment["MACHINE_NAME"] == "tenantkit-local-UpdateParkStatus"


def test_substitutions_are_applied_to_file_and_inline_definitions(stack: Stack) -> None:
    sfn = aws_client("stepfunctions")
    table = stack.attributes["Table"].ref
    for machine in ("UpdateParkStatus", "RawUpdate"):
        described = sfn.describe_state_machine(stateMachineArn=_arn(stack, machine))
        definition = json.loads(described["definition"])
        assert definition["States"]["Update"]["Parameters"]["TableName"] == table
        assert described["type"] == "EXPRESS"


def _machine_template(tmp_path: Path, properties: str) -> Path:
    (tmp_path / "template.yaml").write_text(
        "Transform: AWS::Serverless-2016-10-31\nResources:\n  Machine:\n"
        "    Type: AWS::Serverless::StateMachine\n    Properties:\n"
        + "".join(f"      {line}\n" for line in properties.strip().splitlines())
    )
    return tmp_path / "template.yaml"


DONE = "{StartAt: Done, States: {Done: {Type: Succeed}}}"


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        (
            f"Definition: {DONE}\nDefinitionUri: m.json",
            "exactly one of Definition or DefinitionUri",
        ),
        ("Type: STANDARD", "exactly one of Definition or DefinitionUri"),
        ("DefinitionUri: {Bucket: b, Key: k}", "DefinitionUri: must be a local file path"),
        ("DefinitionUri: missing.json", "DefinitionUri: cannot read"),
        (
            "Definition: {StartAt: P, States: {P: {Type: Pass, Result: '${Nope}', End: true}}}",
            r"DefinitionSubstitutions: no substitution for \$\{Nope\}",
        ),
        (f"Definition: {DONE}\nType: FAST", "Type: STANDARD or EXPRESS"),
        ("Definition: {StartAt: Nowhere, States: {}}", "the backend refused the state machine"),
        (f"Definition: {DONE}\nEvents: {{}}", "Events: property not supported"),
    ],
)
def test_unsupported_or_invalid_machines_fail_at_start(
    backend: Backend, tmp_path: Path, properties: str, message: str
) -> None:
    with pytest.raises(TemplateError, match=message):
        build_on(backend, _machine_template(tmp_path, properties), tmp_path.name)


@pytest.fixture(scope="module")
def runtime(backend: Backend, stack: Stack) -> Iterator[Runtime]:
    runtime = Runtime(stack.functions)
    runtime.load()
    backend.serve_lambda(runtime)
    yield runtime
    runtime.close()


@pytest.mark.usefixtures("runtime")
def test_a_lambda_task_runs_the_function_in_tenantkits_runtime(stack: Stack) -> None:
    response = _run(stack, "RecordThroughLambda", {"id": "from-a-task"})
    assert response["status"] == "SUCCEEDED"
    assert json.loads(response["output"]) == {"recorded": "from-a-task"}
    assert _stored(stack, "event#from-a-task") is not None


@pytest.mark.usefixtures("runtime")
def test_a_failing_lambda_task_fails_with_the_functions_error_type(stack: Stack) -> None:
    response = _run(stack, "RecordThroughLambda", {"no": "id"})
    assert (response["status"], response["error"]) == ("FAILED", "KeyError")


def test_a_substituted_quote_stays_inside_its_json_string(backend: Backend, tmp_path: Path) -> None:
    (tmp_path / "template.yaml").write_text(
        "Resources:\n  Machine:\n    Type: AWS::StepFunctions::StateMachine\n    Properties:\n"
        "      StateMachineType: EXPRESS\n"
        '      DefinitionSubstitutions: {Value: \'a", "End": false, "x": "\'}\n'
        "      DefinitionString: !Sub\n"
        "        - |\n"
        '          {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": "${!Value}",'
        ' "End": true}}, "Comment": "${Note}"}\n'
        "        - {Note: made by Fn::Sub}\n"
    )
    built = build_on(backend, tmp_path / "template.yaml", "quoted")
    response = start_sync_execution(
        aws_client("stepfunctions"), state_machine_arn=_arn(built, "Machine")
    )
    assert response["status"] == "SUCCEEDED"
    assert json.loads(response["output"]) == 'a", "End": false, "x": "'


def test_a_definition_string_that_is_not_json_fails_at_start(
    backend: Backend, tmp_path: Path
) -> None:
    (tmp_path / "template.yaml").write_text(
        "Resources:\n  Machine:\n    Type: AWS::StepFunctions::StateMachine\n    Properties:\n"
        "      DefinitionString: '{\"StartAt\": '\n"
    )
    with pytest.raises(TemplateError, match="DefinitionString: not JSON"):
        build_on(backend, tmp_path / "template.yaml", tmp_path.name)
