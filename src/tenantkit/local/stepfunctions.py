"""The template's state machines, run for real by moto's Step Functions interpreter.

moto executes a definition (Choice, Catch, ``States.Format``, DynamoDB and SNS service
integrations...) once its ``stepfunctions.execute_state_machine`` switch is on:
:func:`enable_execution` turns it on through moto's ``/moto-api/config``, which answers
both in-process (the mock intercepts the request) and on a moto server.

:func:`create_state_machines` creates ``AWS::Serverless::StateMachine`` and
``AWS::StepFunctions::StateMachine`` resources with their ``DefinitionSubstitutions``
applied. Roles and policies have no local effect: the interpreter runs with every
permission, so each machine gets a placeholder role.

moto has no ``StartSyncExecution``; :func:`start_sync_execution` emulates it with
``StartExecution`` and polling, and returns the synchronous API's response.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
import time
import urllib.request
import uuid
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tenantkit.local.template import Attributes, Resolver, Resource, Template, TemplateError

__all__ = [
    "EXPRESS_TIMEOUT_SECONDS",
    "MAX_INPUT_BYTES",
    "STATE_MACHINE_TYPES",
    "create_state_machines",
    "enable_execution",
    "start_sync_execution",
    "wire_response",
]

STATE_MACHINE_TYPES = ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine")
EXPRESS_TIMEOUT_SECONDS = 300  # an Express execution runs at most five minutes
_NAME_LIMIT = 80
MAX_INPUT_BYTES = 262_144
# 1 to 80 characters; no whitespace, brackets, wildcards, control or special characters
_EXECUTION_NAME = re.compile(r"[^\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]{1,80}")
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
_POLL_FIRST, _POLL_MAX = 0.005, 0.05
_TIMEOUT_GRACE = 2.0  # moto stops a timed-out execution itself; this is the backstop


def enable_execution(endpoint_url: str | None) -> None:
    """Turn on moto's interpreter behind ``endpoint_url`` and point its tasks there.

    ``None`` is moto in-process, whose switch is ``mock_aws(config={"stepfunctions":
    {"execute_state_machine": True}})``: the caller's, nothing to do here.

    The interpreter builds its task clients itself
    (``moto/stepfunctions/parser/asl/utils/boto_client.py``): outside ``mock_aws``
    they call ``http://localhost:$MOTO_PORT`` (5000 unless set), an explicit endpoint
    that ``AWS_ENDPOINT_URL`` cannot override. So a loopback endpoint's port becomes
    ``MOTO_PORT`` (moto runs in this process): DynamoDB, SNS and Lambda tasks then reach
    the endpoint, and Lambda tasks tenantkit's runtime behind it. An endpoint that is
    not moto (it refuses the config) may run state machines its own way: a note, not an
    error. Called by the stack build when the template has a state machine; idempotent.
    """
    if endpoint_url is None:
        return
    request = urllib.request.Request(  # noqa: S310 - the backend's own http:// endpoint
        f"{endpoint_url.rstrip('/')}/moto-api/config",
        data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        urllib.request.urlopen(request, timeout=10).close()  # noqa: S310  # nosec B310
    except OSError as error:  # URLError and HTTPError are OSErrors
        print(
            f"tenantkit local: note: {endpoint_url} did not take moto's Step Functions "
            f"config ({error}); state machines may not execute",
            file=sys.stderr,
        )
    url = urlsplit(endpoint_url)
    if url.hostname in _LOOPBACK and url.port is not None:
        os.environ["MOTO_PORT"] = str(url.port)


# ---------------------------------------------------------------------- creation


def create_state_machines(
    template: Template,
    resolver: Resolver,
    client: Any,
    attributes: dict[str, Attributes],
    *,
    stack_name: str,
    account_id: str,
) -> None:
    """Create every state machine in template order; record its ``Ref``/``GetAtt`` values.

    A machine whose definition names another (a nested execution) must come after it.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    for resource in template.resources.values():
        if resource.type not in STATE_MACHINE_TYPES:
            continue
        serverless = resource.type == STATE_MACHINE_TYPES[0]
        props = resource.properties
        where = f"{resource.where}.Properties"
        name_key, type_key = (
            ("Name", "Type") if serverless else ("StateMachineName", "StateMachineType")
        )
        default_name = f"{stack_name}-{resource.logical_id}"[:_NAME_LIMIT]
        name = str(resolver.resolve(props.get(name_key, default_name), f"{where}.{name_key}"))
        kind = str(resolver.resolve(props.get(type_key, "STANDARD"), f"{where}.{type_key}"))
        if kind not in ("STANDARD", "EXPRESS"):
            raise TemplateError(f"{where}.{type_key}: STANDARD or EXPRESS, not {kind!r}")
        definition = _substituted(
            _definition(template, resolver, resource, serverless),
            _substitutions(resolver, props.get("DefinitionSubstitutions"), where),
            f"{where}.DefinitionSubstitutions",
        )
        role = f"arn:aws:iam::{account_id}:role/{name[:50]}-local"  # placeholder: no effect
        try:
            arn = _create(client, name, json.dumps(definition), role, kind)
        except (ClientError, BotoCoreError) as error:
            raise TemplateError(
                f"{resource.where}: the backend refused the state machine: {error}"
            ) from None
        attributes[resource.logical_id] = Attributes(arn, {"Arn": arn, "Name": name})


def _create(client: Any, name: str, definition: str, role: str, kind: str) -> str:
    """Create the machine, or update the one a reused backend already has."""
    from botocore.exceptions import ClientError

    try:
        response = client.create_state_machine(
            name=name, definition=definition, roleArn=role, type=kind
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "StateMachineAlreadyExists":
            raise
        existing = next(
            m["stateMachineArn"]
            for page in client.get_paginator("list_state_machines").paginate()
            for m in page["stateMachines"]
            if m["name"] == name
        )
        client.update_state_machine(stateMachineArn=existing, definition=definition, roleArn=role)
        return str(existing)
    return str(response["stateMachineArn"])


def _definition(
    template: Template, resolver: Resolver, resource: Resource, serverless: bool
) -> dict[str, Any]:
    props = resource.properties
    where = f"{resource.where}.Properties"
    sources = ("Definition", "DefinitionUri") if serverless else ("Definition", "DefinitionString")
    given = [key for key in sources if key in props]
    if len(given) != 1:
        raise TemplateError(f"{where}: exactly one of {' or '.join(sources)} is required")
    (key,) = given
    value = resolver.resolve(props[key], f"{where}.{key}")
    if key == "DefinitionUri":
        if not isinstance(value, str):
            raise TemplateError(f"{where}.DefinitionUri: must be a local file path (no S3)")
        value = _read_definition(template.directory / value, f"{where}.DefinitionUri")
    elif key == "DefinitionString":
        try:
            value = json.loads(str(value))
        except json.JSONDecodeError as error:
            raise TemplateError(f"{where}.DefinitionString: not JSON: {error}") from None
    if not isinstance(value, dict):
        raise TemplateError(f"{where}.{key}: a state machine definition is a JSON object")
    return value


def _read_definition(path: Path, where: str) -> Any:
    """A JSON or YAML definition file (``.asl.json``/``.asl.yaml``); YAML reads both."""
    import yaml

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise TemplateError(f"{where}: cannot read {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise TemplateError(f"{where}: {path} is not JSON or YAML: {error}") from None


def _substitutions(resolver: Resolver, raw: Any, where: str) -> dict[str, str]:
    values = resolver.resolve(raw or {}, f"{where}.DefinitionSubstitutions")
    if not isinstance(values, dict):
        raise TemplateError(f"{where}.DefinitionSubstitutions: must be a mapping")
    text: dict[str, str] = {}
    for key, value in values.items():
        if isinstance(value, bool):
            text[str(key)] = str(value).lower()
        elif isinstance(value, str | int | float):
            text[str(key)] = str(value)
        else:
            raise TemplateError(
                f"{where}.DefinitionSubstitutions.{key}: a string, number or boolean"
            )
    return text


def _substituted(value: Any, substitutions: Mapping[str, str], where: str) -> Any:
    """Replace every ``${Name}`` in the definition's strings, keys included.

    A placeholder with no substitution is refused: CloudFormation would deploy the
    literal ``${Name}``, which is always a typo in the template.
    """

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in substitutions:
            raise TemplateError(f"{where}: no substitution for ${{{name}}}")
        return substitutions[name]

    if isinstance(value, str):
        return _PLACEHOLDER.sub(replace, value)
    if isinstance(value, list):
        return [_substituted(v, substitutions, where) for v in value]
    if isinstance(value, dict):
        return {
            _PLACEHOLDER.sub(replace, k): _substituted(v, substitutions, where)
            for k, v in value.items()
        }
    return value


# ---------------------------------------------------------------------- sync executions


def start_sync_execution(
    client: Any,
    *,
    state_machine_arn: str,
    input: str = "{}",
    name: str | None = None,
) -> dict[str, Any]:
    """``StartSyncExecution`` on moto: start, wait for the end, answer as the sync API.

    The result has boto3's shape (dates as ``datetime``; :func:`wire_response` gives the
    JSON API's). Errors are :class:`botocore.exceptions.ClientError` with the service's
    codes: the backend's own (``StateMachineDoesNotExist``, ``InvalidArn``...),
    ``InvalidExecutionInput`` and ``InvalidName`` (400s that moto gets wrong), and
    ``StateMachineTypeNotSupported`` for a STANDARD machine, as AWS refuses it. An
    execution still running at the machine's ``TimeoutSeconds`` (five minutes for
    Express) is stopped and answered ``TIMED_OUT``.
    """
    _check_request(input, name)
    machine = client.describe_state_machine(stateMachineArn=state_machine_arn)
    if machine.get("type") != "EXPRESS":
        raise _client_error(
            "StateMachineTypeNotSupported",
            "This operation is not supported by this type of state machine",
        )
    started = client.start_execution(
        stateMachineArn=state_machine_arn, name=str(uuid.uuid4()), input=input
    )
    execution = _wait(client, started["executionArn"], _timeout_of(machine["definition"]))
    if execution["status"] == "SUCCEEDED":
        execution = {**execution, "output": _output(client, started["executionArn"])}
    return _sync_response(execution, name)


def _check_request(execution_input: str, name: str | None) -> None:
    """The service's own 400s, which moto would answer with a 500 or not at all."""
    if len(execution_input.encode()) > MAX_INPUT_BYTES:
        raise _client_error("InvalidExecutionInput", "Input exceeds the 262144 byte limit")
    try:
        json.loads(execution_input)
    except (ValueError, RecursionError):
        raise _client_error(
            "InvalidExecutionInput", "Invalid State Machine Execution Input: not JSON"
        ) from None
    if name is not None and not _EXECUTION_NAME.fullmatch(name):
        raise _client_error("InvalidName", f"Invalid Name: '{name[:100]}'")


def _client_error(code: str, message: str) -> Exception:
    from botocore.exceptions import ClientError

    response: Any = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": 400},
    }
    return ClientError(response, "StartSyncExecution")


def _timeout_of(definition: str) -> float:
    timeout = json.loads(definition).get("TimeoutSeconds")
    if isinstance(timeout, int) and 0 < timeout < EXPRESS_TIMEOUT_SECONDS:
        return float(timeout)
    return float(EXPRESS_TIMEOUT_SECONDS)


def _wait(client: Any, execution_arn: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout + _TIMEOUT_GRACE
    pause = _POLL_FIRST
    while True:
        execution: dict[str, Any] = client.describe_execution(executionArn=execution_arn)
        if execution["status"] != "RUNNING":
            return execution
        if time.monotonic() >= deadline:
            client.stop_execution(
                executionArn=execution_arn, error="States.Timeout", cause="Execution timed out"
            )
            stopped = client.describe_execution(executionArn=execution_arn)
            return {**stopped, "status": "TIMED_OUT"}
        time.sleep(pause)
        pause = min(pause * 2, _POLL_MAX)


def _output(client: Any, execution_arn: str) -> str:
    """The output as JSON text, from the history: ``DescribeExecution`` on moto returns a
    string result unencoded (``a"b`` for ``"a\\"b"``), which no caller could parse."""
    for page in client.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
        for event in page["events"]:
            if event["type"] == "ExecutionSucceeded":
                return str(event["executionSucceededEventDetails"].get("output", "null"))
    return "null"


def _sync_response(execution: Mapping[str, Any], name: str | None) -> dict[str, Any]:
    start: datetime = execution["startDate"]
    stop: datetime = execution.get("stopDate") or start
    status = execution["status"]
    response: dict[str, Any] = {
        "executionArn": execution["executionArn"],
        "stateMachineArn": execution["stateMachineArn"],
        "name": name if name is not None else execution["name"],
        "startDate": start,
        "stopDate": stop,
        "status": status if status in ("SUCCEEDED", "TIMED_OUT") else "FAILED",
        "input": execution.get("input", "{}"),
        "inputDetails": {"included": True},
        "billingDetails": {
            "billedMemoryUsedInMB": 64,
            # Express bills whole 100 ms steps
            "billedDurationInMilliseconds": max(
                100, math.ceil((stop - start).total_seconds() * 10) * 100
            ),
        },
    }
    if status == "SUCCEEDED":
        response["output"] = execution["output"]
        response["outputDetails"] = {"included": True}
    for key in ("error", "cause"):
        if execution.get(key) is not None:
            response[key] = execution[key]
    if status == "TIMED_OUT":
        response.setdefault("error", "States.Timeout")
    return response


def wire_response(response: Mapping[str, Any]) -> dict[str, Any]:
    """The response as the JSON API sends it: dates in epoch seconds.

    What an API Gateway integration response template sees as ``$input.body``.
    """
    return {
        key: value.timestamp() if isinstance(value, datetime) else value
        for key, value in response.items()
    }
