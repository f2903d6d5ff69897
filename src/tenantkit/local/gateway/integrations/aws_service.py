"""The ``aws`` integration: the rendered request is a service action's JSON request, sent
to the local backend, and the service's JSON response (or error) is mapped back.

``uri`` is ``arn:aws:apigateway:<region>:<service>:action/<Action>``. The actions of
DynamoDB (``GetItem``, ``Query``, ``PutItem``, ``UpdateItem``, ``DeleteItem``...) and
Step Functions (``StartExecution``...) go to moto byte for byte: the rendered text is the
request body botocore sends, and the response body is what moto wrote, so a template
sees the service's wire format (``{"Item": {"pk": {"S": ...}}}``; errors as 400
``{"__type": ..., "message": ...}``). Before sending, the text must be JSON
(``SerializationException``) that fits the action's input shape (``ValidationException``),
as the service itself would answer: moto would otherwise fail on shapes it never expects.
The text goes out in UTF-8 as Java encodes it (:func:`~tenantkit.local.gateway.java.java_bytes`),
and a string whose escapes decode to an unpaired surrogate (``"\\ud800"``), which has no
UTF-8 form for the service to store, is a ``SerializationException`` too (see
docs/local.md: API Gateway's parser and validator let it through).

``states:StartSyncExecution``, which moto lacks, runs through
:func:`tenantkit.local.stepfunctions.start_sync_execution`. A call longer than API
Gateway's integration limit (29 s) is 504, as for a Lambda proxy.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from tenantkit.local.gateway.context import Call
from tenantkit.local.gateway.integrations.lambda_proxy import INTEGRATION_TIMEOUT
from tenantkit.local.gateway.integrations.transform import (
    BackendAnswer,
    integration_response,
    request_payload,
)
from tenantkit.local.gateway.java import java_bytes
from tenantkit.local.gateway.messages import Response, json_response
from tenantkit.local.template.openapi import Integration

__all__ = ["AwsService", "service_client"]

_SERIALIZATION = "com.amazon.coral.service#SerializationException"
_VALIDATION = "com.amazon.coral.validate#ValidationException"
_SERVICES = {"dynamodb": "dynamodb", "states": "stepfunctions"}


def service_client(service: str, region: str) -> Any:
    """A client that sends what it is given: no parameter validation, no retries."""
    import boto3
    from botocore.config import Config

    config = Config(parameter_validation=False, retries={"total_max_attempts": 1})
    return boto3.client(service, region_name=region, config=config)  # type: ignore[call-overload]


class _Wire:
    """Swaps the request body botocore built for the rendered text, and keeps the raw
    response, per thread (a client serves every request thread at once)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def attach(self, client: Any) -> None:
        client.meta.events.register("before-call", self._before_call)
        client.meta.events.register("before-parse", self._before_parse)

    def _before_call(self, params: dict[str, Any], **_: Any) -> None:
        body = getattr(self._local, "request", None)
        if body is not None:  # only the calls made through send()
            params["body"] = body

    def _before_parse(self, response_dict: dict[str, Any], **_: Any) -> None:
        self._local.response = response_dict

    def send(self, method: Callable[[], Any], body: bytes) -> BackendAnswer:
        from botocore.exceptions import ClientError

        self._local.request, self._local.response = body, None
        try:
            method()
        except ClientError:
            pass  # the service's error: its raw response is kept
        finally:
            self._local.request = None
        raw = self._local.response
        headers = {str(k): str(v) for k, v in dict(raw["headers"]).items()}
        return BackendAnswer(
            int(raw["status_code"]), raw["body"].decode("utf-8", "replace"), headers
        )


def _error(status: int, kind: str, message: str) -> BackendAnswer:
    body = json.dumps({"__type": kind, "message": message})
    return BackendAnswer(status, body, {"Content-Type": "application/x-amz-json-1.0"})


class AwsService:
    """Runs ``aws`` integrations against the local backend's services."""

    def __init__(self, region: str) -> None:
        self.region = region
        self._clients: dict[str, Any] = {}
        self._wire = _Wire()
        self._lock = threading.Lock()

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                client = service_client(service, self.region)
                self._wire.attach(client)
                self._clients[service] = client
            return self._clients[service]

    def __call__(
        self, call: Call, integration: Integration, context: dict[str, Any], params: dict[str, Any]
    ) -> Response:
        mapped = request_payload(call, integration, context, params)
        sent = time.monotonic()
        backend = self.send(integration, mapped.body)
        if time.monotonic() - sent > INTEGRATION_TIMEOUT:
            return json_response(504, {"message": "Endpoint request timed out"})
        return integration_response(call, integration, mapped, backend)

    def send(self, integration: Integration, payload: str) -> BackendAnswer:
        """The service's answer to ``payload`` for the integration's action."""
        service, action = integration.target.split(":", 1)
        boto_service = _SERVICES.get(service)
        if boto_service is None:
            return _error(400, "UnknownOperationException", f"{service} is not served locally")
        client = self.client(boto_service)
        model = client.meta.service_model
        if action not in model.operation_names:
            return _error(400, "UnknownOperationException", f"{service} has no action {action}")
        wire = java_bytes(payload)
        try:
            request = json.loads(wire) if wire.strip() else {}
        except (ValueError, RecursionError) as error:
            return _error(400, _SERIALIZATION, f"The request is not JSON: {error}")
        if _has_unpaired_surrogate(request):
            return _error(400, _SERIALIZATION, "The request has a string that is not valid UTF-8")
        problem = _shape_problem(model.operation_model(action), request)
        if problem is not None:
            return _error(400, _VALIDATION, problem)
        if boto_service == "stepfunctions" and action == "StartSyncExecution":
            return _start_sync_execution(client, request)
        from botocore import xform_name

        try:
            return self._wire.send(getattr(client, xform_name(action)), wire)
        except Exception as error:  # moto failing on input the service would refuse
            print(
                f"tenantkit local: {service}:{action} failed in the backend: {error!r}",
                file=sys.stderr,
            )
            return _error(500, "InternalServerError", "The backend failed on this request")


def _has_unpaired_surrogate(request: Any) -> bool:
    """Whether a key or value decoded from ``\\uXXXX`` escapes holds a surrogate with no
    partner: text that UTF-8, the services' storage encoding, cannot carry."""
    try:
        json.dumps(request, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _shape_problem(operation: Any, request: Any) -> str | None:
    from botocore.validate import ParamValidator

    if not isinstance(request, dict):
        return "The request must be a JSON object"
    report = ParamValidator().validate(request, operation.input_shape)
    return report.generate_report() if report.has_errors() else None


def _start_sync_execution(client: Any, request: dict[str, Any]) -> BackendAnswer:
    """moto has no ``StartSyncExecution``: the stack's emulation answers it."""
    from botocore.exceptions import ClientError

    from tenantkit.local.stepfunctions import start_sync_execution, wire_response

    try:
        response = start_sync_execution(
            client,
            state_machine_arn=request["stateMachineArn"],
            input=request.get("input", "{}"),
            name=request.get("name"),
        )
    except ClientError as error:
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400))
        details = error.response.get("Error", {})
        return _error(status, str(details.get("Code")), str(details.get("Message")))
    body = json.dumps(wire_response(response))
    return BackendAnswer(200, body, {"Content-Type": "application/x-amz-json-1.0"})
