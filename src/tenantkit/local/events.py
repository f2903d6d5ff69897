"""The template's EventBridge buses and rules: matched by moto, delivered to every target.

``PutEvents`` goes to moto's events backend, whose rules implement EventBridge's
pattern matching; this module never matches events itself. moto delivers to SQS
targets, but raises on Lambda and Step Functions targets (and ignores a rule's
``State``). So each target moto cannot deliver, or cannot deliver right (an SQS target
with ``Input`` or ``InputPath``), is registered in moto as a *relay queue*: a private
SQS queue, one per target. An :class:`EventRelay` thread drains it and delivers each
event as EventBridge would, through the backend's API: an asynchronous ``Invoke``
(``InvocationType=Event``: the backend's endpoint runs the function in tenantkit's
runtime, in the background, and retries a failure twice as Lambda does), a
``StartExecution``, or a ``SendMessage``.

A DISABLED rule is created without targets, so it delivers nothing. A target's
``InputTransformer`` is refused: moto's renders some templates wrongly and fails the
caller's ``PutEvents`` on others.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, replace
from typing import Any

from tenantkit.local.template import Attributes, Resolver, Resource, Template, TemplateError

__all__ = [
    "EventRelay",
    "RelayTarget",
    "create_event_buses",
    "create_rules",
    "target_input",
]

MAX_RECEIVE = 10
WAIT_SECONDS = 1
DEFAULT_BUS = "default"
# Retries, dead letters and roles have no local effect (docs/local.md).
_INERT_TARGET_KEYS = frozenset({"DeadLetterConfig", "RetryPolicy", "RoleArn"})
_TARGET_KEYS = frozenset({"Arn", "Id", "Input", "InputPath", "SqsParameters"}) | _INERT_TARGET_KEYS
_INPUT_PATH = re.compile(r"\$(\.[A-Za-z0-9_-]+)*")
_QUEUE_NAME = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True)
class RelayTarget:
    """One rule target that tenantkit delivers from its relay queue."""

    rule: str  # the rule's logical id
    target_id: str
    kind: str  # "lambda", "states" or "sqs"
    destination: str  # the function's or state machine's ARN, or the queue's URL
    relay_queue_url: str
    input: str | None = None
    input_path: str | None = None
    message_group_id: str | None = None

    @property
    def where(self) -> str:
        return f"Resources.{self.rule}.Properties.Targets[{self.target_id}]"


def create_event_buses(
    template: Template,
    resolver: Resolver,
    client: Any,
    attributes: dict[str, Attributes],
    *,
    stack_name: str,
) -> None:
    """Create each ``AWS::Events::EventBus``; ``Ref`` is its name."""
    from botocore.exceptions import ClientError

    for bus in template.of_type("AWS::Events::EventBus"):
        where = f"{bus.where}.Properties.Name"
        name = str(
            resolver.resolve(bus.properties.get("Name", f"{stack_name}-{bus.logical_id}"), where)
        )
        try:
            arn = client.create_event_bus(Name=name)["EventBusArn"]
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceAlreadyExistsException":
                raise TemplateError(f"{bus.where}: the backend refused the bus: {error}") from None
            arn = client.describe_event_bus(Name=name)["Arn"]
        attributes[bus.logical_id] = Attributes(name, {"Arn": arn, "Name": name})


def create_rules(
    template: Template,
    resolver: Resolver,
    clients: Callable[[str], Any],
    attributes: dict[str, Attributes],
    functions: Collection[str],
    *,
    stack_name: str,
) -> list[RelayTarget]:
    """Create each ``AWS::Events::Rule`` and its targets; return the relayed targets.

    ``functions`` are the template functions' ARNs: a Lambda target must be one of them,
    since only they run locally.
    """
    from botocore.exceptions import ClientError

    relays: list[RelayTarget] = []
    for rule in template.of_type("AWS::Events::Rule"):
        try:
            relays.extend(_rule(rule, resolver, clients, attributes, functions, stack_name))
        except ClientError as error:
            raise TemplateError(f"{rule.where}: the backend refused the rule: {error}") from None
    return relays


def _rule(
    rule: Resource,
    resolver: Resolver,
    clients: Callable[[str], Any],
    attributes: dict[str, Attributes],
    functions: Collection[str],
    stack_name: str,
) -> list[RelayTarget]:
    where = f"{rule.where}.Properties"
    props = {
        key: resolver.resolve(rule.properties[key], f"{where}.{key}")
        for key in ("EventBusName", "EventPattern", "Name", "State")
        if key in rule.properties
    }
    pattern = props.get("EventPattern")
    if isinstance(pattern, str):
        try:
            pattern = json.loads(pattern)
        except json.JSONDecodeError as error:
            raise TemplateError(f"{where}.EventPattern: not JSON: {error}") from None
    if not isinstance(pattern, dict) or not pattern:
        raise TemplateError(f"{where}.EventPattern: required, a non-empty mapping")
    state = str(props.get("State", "ENABLED"))
    if state not in ("ENABLED", "DISABLED"):
        raise TemplateError(f"{where}.State: ENABLED or DISABLED, not {state!r}")
    bus = str(props.get("EventBusName", DEFAULT_BUS)).rsplit("/", 1)[-1]  # a name or an ARN
    name = str(props.get("Name", f"{stack_name}-{rule.logical_id}"[:64]))
    events = clients("events")
    arn = events.put_rule(
        Name=name, EventPattern=json.dumps(pattern), State=state, EventBusName=bus
    )["RuleArn"]
    attributes[rule.logical_id] = Attributes(
        name if bus == DEFAULT_BUS else f"{bus}|{name}", {"Arn": arn}
    )
    targets = rule.properties.get("Targets") or []
    if not isinstance(targets, list):
        raise TemplateError(f"{where}.Targets: must be a list")
    checked: list[dict[str, Any] | RelayTarget] = []
    sqs = clients("sqs")
    for index, raw in enumerate(targets):
        target_where = f"{where}.Targets[{index}]"
        if not isinstance(raw, dict):
            raise TemplateError(f"{target_where}: a target is a mapping")
        effective = {k: v for k, v in raw.items() if k not in _INERT_TARGET_KEYS}
        target = resolver.resolve(effective, target_where)
        checked.append(_target(rule, {**raw, **target}, target_where, sqs, functions))
    if state == "DISABLED" or not checked:  # moto would deliver to a disabled rule's targets
        return []
    registered: list[dict[str, Any]] = []
    relays: list[RelayTarget] = []
    for item in checked:
        if isinstance(item, RelayTarget):
            relay, relay_arn = _with_queue(item, sqs, stack_name)
            relays.append(relay)
            registered.append({"Id": relay.target_id, "Arn": relay_arn})
        else:
            registered.append(item)
    events.put_targets(Rule=name, EventBusName=bus, Targets=registered)
    return relays


def _target(
    rule: Resource,
    target: Mapping[str, Any],
    where: str,
    sqs: Any,
    functions: Collection[str],
) -> dict[str, Any] | RelayTarget:
    """The target as moto gets it if moto delivers it itself, else its relay (no queue yet)."""
    for key in target:
        if key not in _TARGET_KEYS:
            raise TemplateError(f"{where}.{key}: target property not supported locally")
    for key in ("Id", "Arn"):
        if not isinstance(target.get(key), str):
            raise TemplateError(f"{where}.{key}: required string")
    target_id, arn = str(target["Id"]), str(target["Arn"])
    given_input = target.get("Input")
    input_path = target.get("InputPath")
    if given_input is not None and input_path is not None:
        raise TemplateError(f"{where}: Input and InputPath are mutually exclusive")
    if given_input is not None:
        try:
            json.loads(str(given_input))
        except json.JSONDecodeError:
            raise TemplateError(f"{where}.Input: must be JSON text") from None
    if input_path is not None and not _INPUT_PATH.fullmatch(str(input_path)):
        raise TemplateError(f"{where}.InputPath: only $ or $.name.name... paths run locally")
    group = (target.get("SqsParameters") or {}).get("MessageGroupId")
    service, resource = _arn_parts(arn)
    if service == "sqs":
        if given_input is None and input_path is None:  # moto delivers these itself
            return {k: v for k, v in target.items() if k in ("Id", "Arn", "SqsParameters")}
        kind = "sqs"
        owner = arn.split(":")[4]
        destination = str(
            sqs.get_queue_url(QueueName=resource, QueueOwnerAWSAccountId=owner)["QueueUrl"]
        )
    elif service == "lambda" and arn in functions:
        kind, destination = "lambda", arn
    elif service == "states" and resource.startswith("stateMachine:"):
        kind, destination = "states", arn
    else:
        raise TemplateError(
            f"{where}.Arn: {arn!r}: local targets are SQS queues, state machines and "
            "this template's functions"
        )
    return RelayTarget(
        rule=rule.logical_id,
        target_id=target_id,
        kind=kind,
        destination=destination,
        relay_queue_url="",
        input=None if given_input is None else str(given_input),
        input_path=None if input_path is None else str(input_path),
        message_group_id=None if group is None else str(group),
    )


def _with_queue(relay: RelayTarget, sqs: Any, stack_name: str) -> tuple[RelayTarget, str]:
    """The relay with its queue (``<stack>-relay-<Rule>-<TargetId>``), and that queue's ARN."""
    name = _QUEUE_NAME.sub("-", f"{stack_name}-relay-{relay.rule}-{relay.target_id}")
    if len(name) > 80:
        name = f"{name[:71]}-{uuid.uuid5(uuid.NAMESPACE_URL, name).hex[:8]}"
    url = str(sqs.create_queue(QueueName=name)["QueueUrl"])
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return replace(relay, relay_queue_url=url), str(arn["Attributes"]["QueueArn"])


def _arn_parts(arn: str) -> tuple[str, str]:
    """(service, resource) of an ARN; empty strings if it is not one."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return "", ""
    return parts[2], parts[5]


def target_input(target: RelayTarget, event: Any) -> Any:
    """What the target receives: the event, a constant ``Input``, or ``InputPath``'s part."""
    if target.input is not None:
        return json.loads(target.input)
    if target.input_path is None:
        return event
    value = event
    for name in target.input_path.split(".")[1:]:
        value = value.get(name) if isinstance(value, dict) else None
    return value


class EventRelay(threading.Thread):
    """Delivers one relayed target's events until ``stop`` is set.

    A delivery the backend refuses is reported and dropped: tenantkit does not reproduce
    EventBridge's own retries and dead-letter queues (see ``docs/local.md``).
    """

    def __init__(
        self, target: RelayTarget, clients: Callable[[str], Any], stop: threading.Event
    ) -> None:
        super().__init__(name=f"events-{target.rule}-{target.target_id}", daemon=True)
        self.target = target
        self.lambda_client = clients("lambda")
        self.sqs = clients("sqs")
        self.stepfunctions = clients("stepfunctions")
        self.stop = stop

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.pump(WAIT_SECONDS)
            except Exception as error:  # the backend went away: report, retry shortly
                if self.stop.is_set():
                    return
                print(f"tenantkit local: {self.target.where}: {error}", file=sys.stderr)
                self.stop.wait(1.0)

    def pump(self, wait_seconds: int = 0) -> int:
        """Deliver what the relay queue holds now (waiting up to ``wait_seconds``)."""
        messages = (
            self.sqs.receive_message(
                QueueUrl=self.target.relay_queue_url,
                MaxNumberOfMessages=MAX_RECEIVE,
                WaitTimeSeconds=wait_seconds,
            ).get("Messages")
            or []
        )
        for message in messages:
            self._deliver(message)
            self.sqs.delete_message(
                QueueUrl=self.target.relay_queue_url, ReceiptHandle=message["ReceiptHandle"]
            )
        return len(messages)

    def _deliver(self, message: Mapping[str, Any]) -> None:
        target = self.target
        payload = target_input(target, json.loads(message["Body"]))
        try:
            if target.kind == "lambda":
                self.lambda_client.invoke(
                    FunctionName=target.destination,
                    InvocationType="Event",
                    Payload=json.dumps(payload).encode(),
                )
            elif target.kind == "states":
                self.stepfunctions.start_execution(
                    stateMachineArn=target.destination,
                    name=str(uuid.uuid4()),
                    input=json.dumps(payload),
                )
            else:
                extra: dict[str, str] = {}
                if target.message_group_id is not None:
                    extra = {
                        "MessageGroupId": target.message_group_id,
                        "MessageDeduplicationId": str(message["MessageId"]),
                    }
                self.sqs.send_message(
                    QueueUrl=target.destination, MessageBody=json.dumps(payload), **extra
                )
        except Exception as error:  # one failed target never stops the relay
            print(
                f"tenantkit local: {target.where}: delivery to {target.destination} failed: "
                f"{type(error).__name__}: {error}",
                file=sys.stderr,
            )
            return
        print(
            f"tenantkit local: EventBridge {target.rule} -> {target.destination}",
            file=sys.stderr,
            flush=True,
        )
