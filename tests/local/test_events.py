"""EventBridge rules: moto matches PutEvents; SQS, state machine and Lambda targets receive."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tenantkit.local.backend import Backend
from tenantkit.local.events import EventRelay, RelayTarget, target_input
from tenantkit.local.functions import Runtime
from tenantkit.local.stack import build_stack
from tenantkit.local.stack_specs import Stack
from tenantkit.local.stepfunctions import start_sync_execution
from tenantkit.local.template import TemplateError, parse_template
from tests.local.conftest import ORCHESTRATION, aws_client, build_on, running_backend

T = TypeVar("T")


@pytest.fixture(scope="module")
def backend() -> Iterator[Backend]:
    """One backend for the module: every template below builds on it, under its own name."""
    with running_backend() as backend:
        yield backend


@pytest.fixture(scope="module")
def stack(backend: Backend) -> Stack:
    return build_stack(parse_template(ORCHESTRATION), backend)


@pytest.fixture(scope="module")
def runtime(backend: Backend, stack: Stack) -> Iterator[Runtime]:
    """The functions, answering the backend's Lambda Invoke (as ``tenantkit local`` does)."""
    runtime = Runtime(stack.functions)
    runtime.load()
    backend.serve_lambda(runtime)
    yield runtime
    runtime.close()


def _relays(stack: Stack, stop: threading.Event) -> list[EventRelay]:
    return [EventRelay(target, aws_client, stop) for target in stack.event_relays]


def _put(detail: dict[str, Any], *, source: str = "tenantkit.test") -> str:
    response = aws_client("events").put_events(
        Entries=[
            {
                "Source": source,
                "DetailType": "ParkStatusChanged",
                "Detail": json.dumps(detail),
                "EventBusName": "parks",
            }
        ]
    )
    assert response["FailedEntryCount"] == 0
    return str(response["Entries"][0]["EventId"])


def _drain(stack: Stack, queue: str) -> list[Any]:
    url = stack.attributes[queue].atts["QueueUrl"]
    messages = aws_client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in messages.get("Messages") or []]


def _item(stack: Stack, key: str) -> dict[str, Any] | None:
    item = aws_client("dynamodb").get_item(
        TableName=stack.attributes["Table"].ref, Key={"pk": {"S": key}}, ConsistentRead=True
    )
    found: dict[str, Any] | None = item.get("Item")
    return found


def _eventually(probe: Callable[[], T | None], seconds: float = 10.0) -> T:
    """Wait (bounded) for work another thread or process does; not a timing assertion."""
    deadline = time.monotonic() + seconds
    while (found := probe()) is None:
        assert time.monotonic() < deadline, "never happened"
        time.sleep(0.05)
    return found


def _status(stack: Stack, key: str) -> str | None:
    status: str | None = (_item(stack, key) or {}).get("parkStatus", {}).get("S")
    return status


@pytest.mark.usefixtures("runtime")
def test_a_matching_event_reaches_every_target(stack: Stack) -> None:
    aws_client("dynamodb").put_item(
        TableName=stack.attributes["Table"].ref,
        Item={"pk": {"S": "t1#park#p1"}, "parkStatus": {"S": "open"}},
    )
    detail = {"tenantId": "t1", "parkId": "p1", "status": "closed"}
    event_id = _put(detail)

    (delivered,) = _drain(stack, "Deliveries")  # moto delivers plain SQS targets itself
    assert (delivered["id"], delivered["detail"]) == (event_id, detail)
    assert delivered["detail-type"] == "ParkStatusChanged"
    relays = _relays(stack, threading.Event())
    assert sorted(relay.pump() for relay in relays) == [1, 1, 1]

    recorded = _eventually(lambda: _item(stack, f"event#{event_id}"))
    assert json.loads(recorded["event"]["S"])["detail"] == detail
    assert _eventually(lambda: _status(stack, "t1#park#p1") == "closed" or None)
    assert _drain(stack, "Constants") == [{"constant": True}]


def test_an_event_the_pattern_refuses_reaches_no_target(stack: Stack) -> None:
    _put({"tenantId": "t1", "parkId": "p1", "status": "open"})  # the prefix filter refuses
    _put({"status": "closed"}, source="someone.else")
    assert _drain(stack, "Deliveries") == []
    assert [relay.pump() for relay in _relays(stack, threading.Event())] == [0, 0, 0]


def test_a_disabled_rule_delivers_nothing(stack: Stack) -> None:
    _put({"tenantId": "t1", "parkId": "p1", "status": "closing"})
    assert _drain(stack, "Unreached") == []
    assert {relay.rule for relay in stack.event_relays} == {"ParkStatusChanged"}
    relay_queues = aws_client("sqs").list_queues(QueueNamePrefix="tenantkit-local-relay-Disabled")
    assert relay_queues.get("QueueUrls", []) == []
    _drain(stack, "Deliveries")


@pytest.mark.usefixtures("runtime")
def test_relay_threads_deliver_until_stopped(stack: Stack) -> None:
    stop = threading.Event()
    relays = _relays(stack, stop)
    for relay in relays:
        relay.start()
    try:
        event_id = _put({"tenantId": "t3", "parkId": "p", "status": "closed"})
        _eventually(lambda: _item(stack, f"event#{event_id}"))
    finally:
        stop.set()
        for relay in relays:
            relay.join(timeout=5)
    assert not any(relay.is_alive() for relay in relays)
    _drain(stack, "Deliveries")
    _drain(stack, "Constants")


EVENT = {"id": "1", "detail": {"a": {"b": 2}}}


@pytest.mark.parametrize(
    ("given", "path", "expected"),
    [
        (None, None, EVENT),
        ('{"k": [1]}', None, {"k": [1]}),
        (None, "$", EVENT),
        (None, "$.detail.a", {"b": 2}),
        (None, "$.detail.missing.b", None),
    ],
)
def test_a_target_receives_the_event_its_input_or_its_input_path(
    given: str | None, path: str | None, expected: Any
) -> None:
    target = RelayTarget("Rule", "t", "sqs", "url", "relay", input=given, input_path=path)
    assert target_input(target, EVENT) == expected


def _rule_template(tmp_path: Path, rule: str) -> Path:
    (tmp_path / "app.py").write_text("def handler(event, context):\n    return None\n")
    (tmp_path / "template.yaml").write_text(
        "Transform: AWS::Serverless-2016-10-31\nResources:\n"
        "  Fn:\n    Type: AWS::Serverless::Function\n"
        "    Properties: {Handler: app.handler, Runtime: python3.12, CodeUri: .}\n"
        "  Queue:\n    Type: AWS::SQS::Queue\n"
        "  Rule:\n    Type: AWS::Events::Rule\n    Properties:\n"
        + "".join(f"      {line}\n" for line in rule.strip().splitlines())
    )
    return tmp_path / "template.yaml"


PATTERN = "EventPattern: {source: [a]}"
QUEUE = "{Id: q, Arn: !GetAtt Queue.Arn"


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("ScheduleExpression: rate(1 minute)", "ScheduleExpression: property not supported"),
        ("Targets: []", "EventPattern: required"),
        (f"{PATTERN}\nState: SOMETIMES", "State: ENABLED or DISABLED"),
        (
            f"{PATTERN}\nTargets: [{{Id: f, Arn: 'arn:aws:lambda:us-east-1:1:function:other'}}]",
            r"Targets\[0\].Arn: .* this template's functions",
        ),
        (
            f"{PATTERN}\nTargets: [{QUEUE}, InputTransformer: {{InputTemplate: x}}}}]",
            r"Targets\[0\].InputTransformer: target property not supported",
        ),
        (f"{PATTERN}\nTargets: [{QUEUE}, InputPath: '$.a[0]'}}]", "InputPath: only"),
        (f"{PATTERN}\nTargets: [{QUEUE}, Input: 'not json'}}]", "Input: must be JSON"),
        (
            f"{PATTERN}\nTargets: [{QUEUE}, Input: '{{}}', InputPath: $}}]",
            "mutually exclusive",
        ),
        (f"{PATTERN}\nTargets: [{{Arn: !GetAtt Queue.Arn}}]", r"Targets\[0\].Id: required"),
    ],
)
def test_unsupported_or_invalid_rules_fail_at_start(
    backend: Backend, tmp_path: Path, rule: str, message: str
) -> None:
    with pytest.raises(TemplateError, match=message):
        build_on(backend, _rule_template(tmp_path, rule), tmp_path.name)


def test_a_lambda_target_of_a_template_function_is_relayed(
    backend: Backend, tmp_path: Path
) -> None:
    rule = f"{PATTERN}\nTargets: [{{Id: fn, Arn: !GetAtt Fn.Arn}}]"
    (relay,) = build_on(backend, _rule_template(tmp_path, rule), "relayed").event_relays
    assert (relay.kind, relay.target_id) == ("lambda", "fn")
    assert relay.destination.endswith(":function:relayed-Fn")
    assert relay.relay_queue_url.endswith("/relayed-relay-Rule-fn")


def test_a_refused_delivery_is_reported_and_the_relay_goes_on(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    sqs = aws_client("sqs")
    relay_queue = sqs.create_queue(QueueName="refused-relay")["QueueUrl"]
    missing = str(stack.attributes["UpdateParkStatus"].ref) + "-missing"
    relay = EventRelay(
        RelayTarget("Rule", "gone", "states", missing, relay_queue), aws_client, threading.Event()
    )
    for index in range(2):
        sqs.send_message(QueueUrl=relay_queue, MessageBody=json.dumps({"id": str(index)}))
    assert relay.pump() == 2
    assert relay.pump() == 0  # both were dropped, not left to come back
    assert capsys.readouterr().err.count(f"delivery to {missing} failed") == 2


def test_a_state_machines_put_events_task_reaches_the_rules(
    backend: Backend, tmp_path: Path
) -> None:
    (tmp_path / "template.yaml").write_text(
        "Resources:\n"
        "  Inbox:\n    Type: AWS::SQS::Queue\n"
        "  Rule:\n    Type: AWS::Events::Rule\n    Properties:\n"
        "      EventPattern: {source: [from.machine]}\n"
        "      Targets: [{Id: inbox, Arn: !GetAtt Inbox.Arn}]\n"
        "  Machine:\n    Type: AWS::StepFunctions::StateMachine\n    Properties:\n"
        "      StateMachineType: EXPRESS\n"
        "      Definition:\n        StartAt: Put\n        States:\n          Put:\n"
        "            Type: Task\n            Resource: arn:aws:states:::events:putEvents\n"
        "            Parameters:\n              Entries:\n"
        "                - {Source: from.machine, DetailType: t, Detail: {a.$: $.a}}\n"
        "            End: true\n"
    )
    built = build_on(backend, tmp_path / "template.yaml", "putter")
    response = start_sync_execution(
        aws_client("stepfunctions"),
        state_machine_arn=str(built.attributes["Machine"].ref),
        input=json.dumps({"a": 1}),
    )
    assert response["status"] == "SUCCEEDED"
    (delivered,) = _drain(built, "Inbox")
    assert (delivered["source"], delivered["detail"]) == ("from.machine", {"a": 1})
