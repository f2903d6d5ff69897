"""Generated Step Functions templates: the execution input of decision 6, escaped twice."""

from __future__ import annotations

import json

import pytest
from hypothesis import example, given, settings

from .conftest import STATE_MACHINE, Route
from .test_dynamodb import HOSTILE, TEXT
from .velocity import render


@settings(max_examples=100, deadline=None)
@given(park_id=TEXT, status=TEXT)
@example(park_id=HOSTILE[12], status='\\"}, "tenantId": "washington')
@example(park_id="\\'", status="\u0000\n")
def test_the_input_holds_the_authorizer_tenant_and_each_field_exactly(
    parks: dict[str, Route], park_id: str, status: str
) -> None:
    rendered = render(
        parks["updateParkStatus"].request,
        path={"parkId": park_id},
        body={"status": status, "tenantId": "washington"},
    ).json()
    assert set(rendered) == {"stateMachineArn", "input"}
    assert rendered["stateMachineArn"] == STATE_MACHINE
    assert json.loads(rendered["input"]) == {
        "tenantId": "texas",
        "userId": "alice",
        "parkId": park_id,
        "status": status,
    }


def test_no_user_id_leaves_it_out(parks: dict[str, Route]) -> None:
    rendered = render(
        parks["updateParkStatus"].request,
        path={"parkId": "a"},
        body={"status": "park-closed"},
        authorizer={"userId": ""},
    ).json()
    assert json.loads(rendered["input"]) == {
        "tenantId": "texas",
        "parkId": "a",
        "status": "park-closed",
    }


def _answer(status: str, **fields: str) -> dict[str, str]:
    return {"status": status, **fields}


def test_a_successful_sync_execution_answers_204(parks: dict[str, Route]) -> None:
    route = parks["updateParkStatus"]
    assert route.integration["responses"]["default"]["statusCode"] == "204"
    rendered = render(route.response(), body=_answer("SUCCEEDED", output='{"tenantId": "texas"}'))
    assert rendered.status is None
    assert rendered.text.strip() == ""


@pytest.mark.parametrize(
    ("error", "status"),
    [("DynamoDB.ConditionalCheckFailedException", 404), ("States.TaskFailed", 500), ("", 500)],
)
def test_a_failed_execution_answers_its_mapped_status(
    parks: dict[str, Route], error: str, status: int
) -> None:
    answer = _answer("FAILED", error=error, cause='{"secret": "arn:aws:sns:..."}')
    rendered = render(parks["updateParkStatus"].response(), body=answer)
    assert rendered.status == status
    assert "secret" not in rendered.text
    assert set(rendered.json()) == {"message"}


def test_sync_outputs_return_declared_fields_only() -> None:
    from tenantkit.direct import parse_spec, render_openapi

    spec = {
        "authorizer": {"name": "A", "function": "arn:aws:lambda:us-east-1:1:function:a"},
        "routes": [
            {
                "operation": "run",
                "method": "POST",
                "path": "/runs",
                "body": {"n": {"type": "integer", "required": False}, "ok": {"type": "boolean"}},
                "stepfunctions": {
                    "action": "StartSyncExecution",
                    "state_machine": STATE_MACHINE,
                    "returns": {"id": {}, "total": {"type": "number"}, "done": {"type": "boolean"}},
                },
            }
        ],
    }
    route = Route(render_openapi(parse_spec(spec)), "/runs", "post")
    request = render(route.request, body={"n": 7, "ok": False}).json()
    assert json.loads(request["input"]) == {
        "tenantId": "texas",
        "userId": "alice",
        "n": 7,
        "ok": False,
    }
    request = render(route.request, body={"ok": True}).json()
    assert json.loads(request["input"]) == {"tenantId": "texas", "userId": "alice", "ok": True}
    output = json.dumps({"id": 'x"y', "total": 2.5, "done": True, "tenantId": "texas"})
    rendered = render(route.response(), body=_answer("SUCCEEDED", output=output))
    assert rendered.json() == {"id": 'x"y', "total": 2.5, "done": True}


@pytest.mark.parametrize(
    ("error", "status"),
    [
        ("InvalidExecutionInput", 400),
        # text the service cannot encode (a lone surrogate the validator let through)
        ("SerializationException", 400),
        ("ExecutionLimitExceeded", 429),
        ("StateMachineDoesNotExist", 500),
        ("AccessDeniedException", 500),
    ],
)
def test_service_errors_map_to_statuses(parks: dict[str, Route], error: str, status: int) -> None:
    answer = {"__type": "com.amazonaws.swf.service.model#" + error, "message": 'a "quoted" one'}
    rendered = render(parks["updateParkStatus"].response("4\\d{2}"), body=answer)
    assert rendered.status == status
    assert "quoted" not in rendered.text
    assert set(rendered.json()) == {"message"}
