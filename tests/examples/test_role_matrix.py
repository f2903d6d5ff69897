"""Every Lambda route, called by every role of texas (and by dave, who has no tenant).

The direct routes' matrix is in test_parks.py (they run only under the gateway)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.examples.conftest import StateParks, lambda_routes

# role -> (user, expected status) for each route; "none" is dave, with no active tenant.
ROLES = ("admin", "member", "visitor", "none")
MATRIX: list[tuple[str, str, dict[str, str], Any, dict[str, int]]] = [
    (
        "POST",
        "/parks/{parkId}/webhooks",
        {"parkId": "enchanted-rock"},
        {"eventType": "park-closed", "endpoint": "https://hooks.example.com/{role}"},
        {"admin": 201, "member": 201, "visitor": 403, "none": 403},
    ),
    (
        "GET",
        "/parks/{parkId}/webhooks",
        {"parkId": "enchanted-rock"},
        None,
        {"admin": 200, "member": 200, "visitor": 200, "none": 403},
    ),
    # {hook} is alice's (an admin's): a member may not read or remove another's webhook.
    (
        "GET",
        "/parks/{parkId}/webhooks/{webhookId}",
        {"parkId": "enchanted-rock", "webhookId": "{hook}"},
        None,
        {"admin": 200, "member": 403, "visitor": 403, "none": 403},
    ),
    (
        "DELETE",
        "/parks/{parkId}/webhooks/{webhookId}",
        {"parkId": "enchanted-rock", "webhookId": "{hook}"},
        None,
        {"admin": 204, "member": 403, "visitor": 403, "none": 403},
    ),
    ("GET", "/settings", {}, None, {"admin": 200, "member": 200, "visitor": 200, "none": 200}),
    (
        "PUT",
        "/settings",
        {},
        {"customerId": "{tenant}"},
        {"admin": 204, "member": 204, "visitor": 204, "none": 204},
    ),
    ("GET", "/customers", {}, None, {"admin": 200, "member": 200, "visitor": 200, "none": 200}),
    (
        "POST",
        "/customers",
        {},
        {"id": "{role}-state"},
        {"admin": 201, "member": 201, "visitor": 201, "none": 201},
    ),
    (
        "POST",
        "/customers/{customerId}/members",
        {"customerId": "texas"},
        {"userId": "zoe", "roles": ["visitor"]},
        {"admin": 204, "member": 403, "visitor": 403, "none": 403},
    ),
    (
        "PUT",
        "/customers/{customerId}/roles",
        {"customerId": "texas"},
        {"userId": "carol", "roles": ["member"]},
        {"admin": 204, "member": 403, "visitor": 403, "none": 403},
    ),
]


def fill(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**names)
    if isinstance(value, dict):
        return {k: fill(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, names) for v in value]
    return value


@pytest.mark.parametrize(
    ("method", "resource", "params", "body", "expected"),
    MATRIX,
    ids=[f"{m} {r}" for m, r, *_ in MATRIX],
)
def test_route_for_every_role(
    app: StateParks,
    texas_member: str,
    method: str,
    resource: str,
    params: dict[str, str],
    body: Any,
    expected: dict[str, int],
) -> None:
    app.cold_starts = True  # each call in a fresh instance: no client hides a missing variable
    assert app.call("zoe", "GET", "/settings").status == 200  # zoe exists, as a target
    users = {"admin": "alice", "member": texas_member, "visitor": "carol", "none": "dave"}
    for role in ROLES:
        hook = ""
        if "{webhookId}" in resource:
            created = app.call(
                "alice",
                "POST",
                "/parks/{parkId}/webhooks",
                {"parkId": "enchanted-rock"},
                body={"eventType": "park-closed", "endpoint": f"https://hooks.example.com/{role}"},
            )
            hook = created.body["id"]
        names = {"role": role, "hook": hook, "tenant": "texas" if role != "none" else "dave-land"}
        if role == "none" and method == "PUT" and resource == "/settings":
            assert app.call("dave", "POST", "/customers", body={"id": "dave-land"}).status == 201
        response = app.call(
            users[role], method, resource, fill(params, names), body=fill(body, names)
        )
        assert response.status == expected[role], (role, response.body)
        if response.status >= 400:
            assert set(response.body) <= {"message", "errors"}
        if role == "admin" and resource == "/customers/{customerId}/members":
            # The next role must still see a user to add, so take zoe out again.
            import config

            config.user_directory().remove_member("texas", "zoe", actor_id="alice")


def test_the_matrix_covers_every_lambda_route() -> None:
    assert {(method, resource) for method, resource, *_ in MATRIX} == set(lambda_routes())
