"""Lambda's Invoke API on the local AWS endpoint, answered by the runtime: what handlers,
Step Functions tasks and EventBridge targets reach through ``AWS_ENDPOINT_URL``."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tenantkit.local.backend import Backend
from tenantkit.local.functions import Runtime
from tenantkit.local.stack_specs import Stack


def invoke(backend: Backend, name: str, event: Any, **options: Any) -> dict[str, Any]:
    reply: dict[str, Any] = backend.client("lambda").invoke(
        FunctionName=name, Payload=json.dumps(event).encode(), **options
    )
    reply["Payload"] = reply["Payload"].read()
    return reply


def refusal(backend: Backend, name: str, event: Any, **options: Any) -> tuple[int, str]:
    with pytest.raises(ClientError) as refused:
        invoke(backend, name, event, **options)
    response = refused.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]


def test_invoke_with_tenant_id_reaches_the_tenants_environment(
    backend: Backend, stack: Stack, runtime: Runtime
) -> None:
    name = stack.functions["Isolated"].name
    invoke(backend, name, {"n": 1}, TenantId="texas")
    reply = invoke(backend, stack.functions["Isolated"].arn, {"n": 2}, TenantId="texas")
    answer = json.loads(reply["Payload"])
    assert (reply["StatusCode"], answer["tenant_id"]) == (200, "texas")
    assert answer["seen"] == [{"n": 1}, {"n": 2}]
    assert json.loads(invoke(backend, name, {"n": 3}, TenantId="utah")["Payload"])["seen"] == [
        {"n": 3}
    ]


def test_tenancy_mismatches_are_invalid_parameter_values(
    backend: Backend, stack: Stack, runtime: Runtime
) -> None:
    isolated, pooled = stack.functions["Isolated"].name, stack.functions["Pooled"].name
    assert refusal(backend, isolated, {}) == (400, "InvalidParameterValueException")
    assert refusal(backend, pooled, {}, TenantId="texas") == (400, "InvalidParameterValueException")


def test_unknown_functions_and_qualifiers_are_not_found(
    backend: Backend, stack: Stack, runtime: Runtime
) -> None:
    assert refusal(backend, "nowhere", {}) == (404, "ResourceNotFoundException")
    pooled = stack.functions["Pooled"].name
    assert refusal(backend, pooled, {}, Qualifier="7") == (404, "ResourceNotFoundException")
    assert invoke(backend, pooled, {}, Qualifier="$LATEST")["StatusCode"] == 200


def test_a_function_error_is_200_with_the_error_document(
    backend: Backend, stack: Stack, runtime: Runtime
) -> None:
    reply = invoke(backend, stack.functions["Misc"].name, {"action": "crash"})
    assert (reply["StatusCode"], reply["FunctionError"]) == (200, "Unhandled")
    assert json.loads(reply["Payload"])["errorType"] == "Runtime.ExitError"


def test_dry_run_runs_nothing(backend: Backend, stack: Stack, runtime: Runtime) -> None:
    reply = invoke(backend, stack.functions["Misc"].name, {}, InvocationType="DryRun")
    assert reply["StatusCode"] == 204
    assert runtime.environments("Misc") == 0


def test_reserved_concurrency_is_429_on_the_invoke_api(
    backend: Backend, stack: Stack, runtime: Runtime, tmp_path: Path
) -> None:
    scarce = stack.functions["Scarce"].name
    release = tmp_path / "release"
    busy = threading.Thread(
        target=invoke, args=(backend, scarce, {"action": "hold", "until": str(release)})
    )
    busy.start()
    try:
        deadline = time.monotonic() + 10
        while runtime.environments("Scarce") == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert refusal(backend, scarce, {"action": "pid"}) == (429, "TooManyRequestsException")
    finally:
        release.touch()
        busy.join()


def test_a_handler_reaches_other_functions_and_moto_through_the_endpoint(
    backend: Backend, stack: Stack, runtime: Runtime
) -> None:
    """Workers inherit AWS_ENDPOINT_URL: an asynchronous invocation (202) whose handler
    sends a message, and a handler that invokes a PER_TENANT function with TenantId."""
    queue = str(stack.attributes["DeadLetters"].ref)
    misc = stack.functions["Misc"].name
    event = {"action": "send", "queue": queue, "text": "from an Event invocation"}
    assert invoke(backend, misc, event, InvocationType="Event")["StatusCode"] == 202
    sqs = backend.client("sqs")
    received = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=10).get("Messages", [])
    assert [m["Body"] for m in received] == ["from an Event invocation"]
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=received[0]["ReceiptHandle"])

    call = {"action": "call", "function": stack.functions["Isolated"].name, "event": {"n": 9}}
    reply = invoke(backend, misc, {**call, "tenant": "ohio"})
    answer = json.loads(json.loads(reply["Payload"])["body"])
    assert (answer["tenant_id"], answer["seen"]) == ("ohio", [{"n": 9}])


def test_payloads_past_lambdas_limits_are_too_large(
    backend: Backend, stack: Stack, runtime: Runtime
) -> None:
    pooled = stack.functions["Pooled"].name
    event = {"blob": "x" * (1024 * 1024)}
    assert refusal(backend, pooled, event, InvocationType="Event") == (
        413,
        "RequestTooLargeException",
    )
    assert invoke(backend, pooled, event)["StatusCode"] == 200  # 6 MB for a synchronous one
    huge = {"blob": "x" * (6 * 1024 * 1024)}
    assert refusal(backend, pooled, huge) == (413, "RequestTooLargeException")
