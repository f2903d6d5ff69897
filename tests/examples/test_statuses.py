"""Park statuses: API Gateway starts UpdateParkStatus synchronously; the machine updates the
park under the caller's tenant and its Lambda task announces the change to the webhooks.

Served whole by the local gateway: the request template, moto's Step Functions
interpreter (DynamoDB task, then the announcer in a worker process), SNS to a loopback
receiver. Also here, since they need the same served stack: parks written by API
Gateway are read by the webhooks function through ``TenantTable``, and that function runs
in one execution environment per tenant.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.examples.conftest import Receiver, Served

PALO_DURO = {"parkId": "palo-duro-canyon"}


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    try:
        yield server
    finally:
        server.close()


def subscribe(served: Served, user: str, park: str, event_type: str, endpoint: str) -> str:
    response = served.call(
        user,
        "POST",
        "/parks/{parkId}/webhooks",
        {"parkId": park},
        body={"eventType": event_type, "endpoint": endpoint},
    )
    assert response.status == 201, response.body
    webhook: str = response.body["id"]
    return webhook


def change(served: Served, user: str, park: str, status: str = "park-closed") -> int:
    response = served.call(
        user, "POST", "/parks/{parkId}/statuses", {"parkId": park}, body={"status": status}
    )
    if response.status != 204:
        assert set(response.body) == {"message"}, response.body
    return response.status


def eventually(test: Callable[[], bool], timeout: float = 10.0) -> bool:
    """SNS delivers to HTTP endpoints on its own thread: give it a moment."""
    deadline = time.monotonic() + timeout
    while not test():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def status_of(served: Served, user: str, park: str) -> Any:
    return served.call(user, "GET", "/parks/{parkId}", {"parkId": park}).body["status"]


def test_a_closure_updates_the_park_and_reaches_only_its_webhook(
    served: Served, receiver: Receiver
) -> None:
    subscribe(served, "alice", "palo-duro-canyon", "park-closed", f"{receiver.url}/closed")
    subscribe(served, "alice", "palo-duro-canyon", "park-reopened", f"{receiver.url}/reopened")
    subscribe(served, "alice", "enchanted-rock", "park-closed", f"{receiver.url}/rock")
    subscribe(served, "bob", "deception-pass", "park-closed", f"{receiver.url}/bob")

    assert change(served, "alice", "palo-duro-canyon") == 204
    assert status_of(served, "carol", "palo-duro-canyon") == "park-closed"
    assert eventually(lambda: bool(receiver.notifications("/closed")))
    [event] = receiver.notifications("/closed")
    assert (event["tenantId"], event["eventType"], event["resourceId"]) == (
        "texas",
        "park-closed",
        "palo-duro-canyon",
    )
    assert event["data"]["parkId"] == "palo-duro-canyon"
    assert event["data"]["status"] == "park-closed"

    assert change(served, "alice", "palo-duro-canyon", "park-reopened") == 204
    assert eventually(lambda: bool(receiver.notifications("/reopened")))
    assert status_of(served, "alice", "palo-duro-canyon") == "park-reopened"
    # Another park's and another tenant's subscribers heard nothing.
    assert receiver.notifications("/rock") == []
    assert receiver.notifications("/bob") == []
    assert status_of(served, "bob", "deception-pass") == "park-opened"


@pytest.mark.parametrize("park", ["atlantis", "Bad#Id", "deception-pass", "x" * 64])
def test_a_status_for_a_park_not_in_the_callers_tenant_is_a_404(served: Served, park: str) -> None:
    """The machine's update requires the park under the caller's own key: washington's
    deception-pass does not exist for alice, and stays as it was."""
    assert change(served, "alice", park) == 404
    assert status_of(served, "bob", "deception-pass") == "park-opened"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"status": "park-opened"},
        {"status": "on-fire"},
        {"status": 3},
        {"status": "park-closed", "tenantId": "washington"},
        {"status": "park-closed", "parkId": "deception-pass"},
    ],
)
def test_bad_status_bodies_are_400s(served: Served, body: dict[str, Any]) -> None:
    response = served.call("alice", "POST", "/parks/{parkId}/statuses", PALO_DURO, body=body)
    assert (response.status, response.body) == (400, {"message": "Invalid request body"})


@pytest.mark.parametrize(
    "attack",
    ['p"}, "tenantId": "washington', "p\\", "p\u0000", "#set($x = 1)", "$context.requestId"],
)
def test_attack_a_park_id_cannot_add_to_the_execution_input(served: Served, attack: str) -> None:
    """The path parameter is escaped twice into the input string: it stays one value.
    (An encoded backslash is refused before routing: decision 15's 400.)"""
    assert change(served, "bob", attack) == (400 if "\\" in attack else 404)
    assert status_of(served, "bob", "deception-pass") == "park-opened"


def test_the_announcer_refuses_the_work_of_a_suspended_tenant(served: Served) -> None:
    """Behind the authorizer, the Lambda task checks the tenant's status too: an execution
    started for a suspended tenant (in flight when it was suspended) fails in the task."""
    from tenantkit.auth import Operator, TenantAdmin
    from tenantkit.local.stepfunctions import start_sync_execution

    tenant, admin = served.new_tenant("suspended")
    assert served.call(admin, "POST", "/parks", body={"id": "quiet", "name": "Q"}).status == 201
    TenantAdmin(served.table, client=served.client("dynamodb")).suspend(
        tenant, actor=Operator("test")
    )
    states = served.client("stepfunctions")
    [machine] = [
        m["stateMachineArn"]
        for m in states.list_state_machines()["stateMachines"]
        if "UpdateParkStatus" in m["name"]
    ]
    execution = {"tenantId": tenant, "userId": admin, "parkId": "quiet", "status": "park-closed"}
    result = start_sync_execution(states, state_machine_arn=machine, input=json.dumps(execution))
    assert (result["status"], result["error"]) == ("FAILED", "TenantNotActiveError")


def test_a_suspended_tenants_admin_is_refused_by_the_authorizer(served: Served) -> None:
    from tenantkit.auth import Operator, TenantAdmin

    tenant, admin = served.new_tenant("refused")
    assert served.call(admin, "POST", "/parks", body={"id": "p", "name": "P"}).status == 201
    TenantAdmin(served.table, client=served.client("dynamodb")).suspend(
        tenant, actor=Operator("test")
    )
    # A new token: the gateway caches an authorizer's answer per token for its TTL, and
    # the authorizer's container keeps a tenant's status a few seconds (app/config.py).
    assert eventually(
        lambda: served.call(None, "GET", "/parks", token=fresh_token(admin)).status == 403,
        timeout=15,
    )
    assert served.call(None, "GET", "/settings", token=fresh_token(admin)).status == 200


def fresh_token(user: str) -> str:
    from tests.examples.conftest import make_token

    return make_token(user, jti=str(time.monotonic_ns()))


def test_a_park_written_by_api_gateway_is_read_by_tenant_table(served: Served) -> None:
    """The direct route writes TenantTable's key format and the enumeration attribute;
    the webhooks function finds the park through TenantTable (and TenantSessions)."""
    tenant, admin = served.new_tenant("written")
    assert served.call(admin, "POST", "/parks", body={"id": "by-vtl", "name": "V"}).status == 201
    listed = served.call(admin, "GET", "/parks/{parkId}/webhooks", {"parkId": "by-vtl"})
    assert (listed.status, listed.body) == (200, {"items": []})
    stored = served.client("dynamodb").get_item(
        TableName=served.table, Key={"pk": {"S": f"{tenant}#park#by-vtl"}, "sk": {"S": "park"}}
    )["Item"]
    assert stored["GSI1PK"] == {"S": f"{tenant}#park"}
    shard = stored["tkshard"]["S"]
    assert shard.startswith(f"{tenant}#")
    assert 0 <= int(shard.rsplit("#", 1)[1]) < 16


def test_the_webhooks_function_runs_one_environment_per_tenant(served: Served) -> None:
    """PER_TENANT: a new tenant's first webhooks request starts an environment of its
    own; the pool function (the users API) serves it from a warm one."""
    _, admin = served.new_tenant("isolated")
    served.call("alice", "GET", "/settings")
    served.call("alice", "GET", "/parks/{parkId}/webhooks", PALO_DURO)
    webhooks, settings = (
        served.runtime.environments("WebhooksFunction"),
        served.runtime.environments("SettingsFunction"),
    )
    assert served.call(admin, "GET", "/settings").status == 200
    assert served.call(admin, "GET", "/parks/{parkId}/webhooks", PALO_DURO).status == 404
    assert served.runtime.environments("WebhooksFunction") == webhooks + 1
    assert served.runtime.environments("SettingsFunction") == settings
    served.call(admin, "GET", "/parks/{parkId}/webhooks", PALO_DURO)
    assert served.runtime.environments("WebhooksFunction") == webhooks + 1


@pytest.mark.parametrize(
    "spoof",
    [
        {"headers": {"X-Tenant-Id": "texas"}},
        {"headers": {"X-Amz-Tenant-Id": "texas"}},
        {"query": {"tenantId": "texas"}},
    ],
)
def test_attack_a_header_or_query_naming_a_tenant_changes_nothing(
    served: Served, spoof: dict[str, Any]
) -> None:
    """The execution input's tenant is the authorizer's: bob's spoof finds no texas park."""
    response = served.call(
        "bob",
        "POST",
        "/parks/{parkId}/statuses",
        PALO_DURO,
        body={"status": "natural-disaster"},
        **spoof,
    )
    assert response.status == 404
    assert status_of(served, "alice", "palo-duro-canyon") != "natural-disaster"
