"""Attacks on the tenant boundary through the Lambda routes (in-process): nothing the
caller sends chooses the tenant, and the functions check again behind the authorizer.
The direct routes' attacks are in test_parks.py and test_statuses.py."""

from __future__ import annotations

from typing import Any

import pytest

from tests.examples.conftest import StateParks, make_token

HOOK = {"eventType": "park-closed", "endpoint": "https://hooks.example.com/x"}


@pytest.mark.parametrize(
    "spoof",
    [
        {"query": {"tenantId": "washington"}},
        {"headers": {"X-Tenant-Id": "washington"}},
        {"headers": {"X-Amz-Tenant-Id": "washington"}},
        {"token": make_token("alice", tenantId="washington", customerId="washington")},
    ],
)
def test_query_headers_and_token_claims_do_not_change_the_tenant(
    app: StateParks, spoof: dict[str, Any]
) -> None:
    park = {"parkId": "deception-pass"}
    assert app.call("alice", "GET", "/parks/{parkId}/webhooks", park, **spoof).status == 404
    texas = {"parkId": "palo-duro-canyon"}
    assert app.call("alice", "GET", "/parks/{parkId}/webhooks", texas, **spoof).status == 200


def test_a_token_claiming_roles_does_not_grant_them(app: StateParks) -> None:
    token = make_token("carol", roles=["admin"], tenantId="texas")
    park = {"parkId": "palo-duro-canyon"}
    refused = app.call(None, "POST", "/parks/{parkId}/webhooks", park, body=HOOK, token=token)
    assert refused.status == 403


def test_bob_cannot_touch_texas_parks_by_id(app: StateParks) -> None:
    park = {"parkId": "palo-duro-canyon"}
    hooked = app.call(
        "bob",
        "POST",
        "/parks/{parkId}/webhooks",
        park,
        body={"eventType": "park-closed", "endpoint": "https://hooks.example.com/x"},
    )
    assert hooked.status == 404
    assert app.call("bob", "GET", "/parks/{parkId}/webhooks", park).status == 404


@pytest.mark.parametrize(
    "token",
    [
        make_token("alice").replace(".", ".x", 1),
        make_token("alice", iss="https://evil.example"),
        make_token("alice", aud="another-api"),
        make_token("alice", exp=1),
        "not-a-jwt",
    ],
)
def test_a_bad_token_is_a_401_and_reaches_no_handler(app: StateParks, token: str) -> None:
    assert app.call(None, "GET", "/customers", token=token).status == 401


def test_no_token_is_a_401(app: StateParks) -> None:
    assert app.call(None, "GET", "/settings").status == 401


def test_handlers_refuse_without_a_tenant_even_if_the_policy_were_wrong(app: StateParks) -> None:
    """Defence in depth: dave has no active tenant; the handler refuses on its own."""
    park = {"parkId": "palo-duro-canyon"}
    response = app.call("dave", "GET", "/parks/{parkId}/webhooks", park, skip_policy=True)
    assert response.status == 403
    assert response.body == {"message": "No active tenant; switch to a tenant first"}


def test_handlers_check_roles_even_if_the_policy_were_wrong(app: StateParks) -> None:
    """Defence in depth: carol (visitor) is refused by @requires_roles itself."""
    park = {"parkId": "palo-duro-canyon"}
    added = app.call("carol", "POST", "/parks/{parkId}/webhooks", park, body=HOOK, skip_policy=True)
    assert (added.status, added.body) == (403, {"message": "Forbidden"})


def test_a_slash_in_a_parameter_reaches_the_route_api_gateway_authorized(app: StateParks) -> None:
    """Powertools routes by the event's path; a REST API keeps it percent-encoded, so an
    encoded ``/`` stays inside its segment. carol (visitor) may list a park's webhooks;
    were ``palo-duro-canyon/webhooks`` decoded, the path would read as a webhook of the
    park (``GET /parks/{parkId}/webhooks/{webhookId}``), which visitors may not read. The
    role map's policy already refuses that ARN; past it, she gets the list route, for a
    park id that does not exist."""
    smuggled = {"parkId": "palo-duro-canyon/webhooks"}
    assert app.call("carol", "GET", "/parks/{parkId}/webhooks", smuggled).status == 403
    response = app.call("carol", "GET", "/parks/{parkId}/webhooks", smuggled, skip_policy=True)
    assert (response.status, response.body) == (
        404,
        {"message": "park not found in your active tenant"},
    )
