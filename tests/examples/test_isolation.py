"""Attacks on the tenant boundary: nothing the caller sends chooses the tenant."""

from __future__ import annotations

from typing import Any

import pytest

from tests.examples.conftest import StateParks, make_token

TEXAS = {"palo-duro-canyon", "big-bend-ranch", "enchanted-rock"}


def ids(body: dict[str, Any]) -> set[str]:
    return {item["id"] for item in body["items"]}


def test_alice_never_sees_washington(app: StateParks) -> None:
    listed = app.call("alice", "GET", "/parks")
    assert ids(listed.body) == TEXAS
    for park in ("deception-pass", "cape-disappointment"):
        assert app.call("alice", "GET", "/parks/{parkId}", {"parkId": park}).status == 404


def test_bob_reading_palo_duro_canyon_gets_404(app: StateParks) -> None:
    response = app.call("bob", "GET", "/parks/{parkId}", {"parkId": "palo-duro-canyon"})
    assert (response.status, response.body) == (
        404,
        {"message": "park not found in your active tenant"},
    )


@pytest.mark.parametrize(
    "spoof",
    [
        {"query": {"tenantId": "washington"}},
        {"query": {"customerId": "washington"}},
        {"headers": {"X-Tenant-Id": "washington"}},
        {"headers": {"x-tenant-id": "washington", "X-Customer-Id": "washington"}},
        {"token": make_token("alice", tenantId="washington", customerId="washington")},
        {"token": make_token("alice", **{"custom:tenantId": "washington", "roles": ["admin"]})},
    ],
)
def test_query_headers_and_token_claims_do_not_change_the_tenant(
    app: StateParks, spoof: dict[str, Any]
) -> None:
    listed = app.call("alice", "GET", "/parks", **spoof)
    assert (listed.status, ids(listed.body)) == (200, TEXAS)
    read = app.call("alice", "GET", "/parks/{parkId}", {"parkId": "deception-pass"}, **spoof)
    assert read.status == 404


def test_a_tenant_id_in_the_body_is_ignored(app: StateParks) -> None:
    body = {"id": "sneaky", "name": "Sneaky", "tenantId": "washington", "customerId": "washington"}
    assert app.call("alice", "POST", "/parks", body=body).status == 201
    assert app.call("bob", "GET", "/parks/{parkId}", {"parkId": "sneaky"}).status == 404
    assert "sneaky" not in ids(app.call("bob", "GET", "/parks").body)
    assert app.call("alice", "GET", "/parks/{parkId}", {"parkId": "sneaky"}).status == 200


def test_a_token_claiming_roles_does_not_grant_them(app: StateParks) -> None:
    token = make_token("carol", roles=["admin"], tenantId="texas")
    refused = app.call(None, "POST", "/parks", body={"id": "x", "name": "X"}, token=token)
    assert refused.status == 403


def test_bob_cannot_touch_texas_parks_by_id(app: StateParks) -> None:
    park = {"parkId": "palo-duro-canyon"}
    closed = app.call(
        "bob", "POST", "/parks/{parkId}/statuses", park, body={"status": "park-closed"}
    )
    assert closed.status == 404
    assert app.call("alice", "GET", "/parks/{parkId}", park).body["status"] == "park-opened"
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
    assert app.call(None, "GET", "/parks", token=token).status == 401


def test_no_token_is_a_401(app: StateParks) -> None:
    assert app.call(None, "GET", "/settings").status == 401


def test_handlers_refuse_without_a_tenant_even_if_the_policy_were_wrong(app: StateParks) -> None:
    """Defence in depth: dave has no active tenant; the handler refuses on its own."""
    response = app.call("dave", "GET", "/parks", skip_policy=True)
    assert response.status == 403
    assert response.body == {"message": "No active tenant; switch to a tenant first"}


def test_handlers_check_roles_even_if_the_policy_were_wrong(app: StateParks) -> None:
    """Defence in depth: carol (visitor) is refused by @requires_roles itself."""
    added = app.call("carol", "POST", "/parks", body={"id": "x", "name": "X"}, skip_policy=True)
    assert (added.status, added.body) == (403, {"message": "Forbidden"})
    park = {"parkId": "palo-duro-canyon"}
    closed = app.call(
        "carol",
        "POST",
        "/parks/{parkId}/statuses",
        park,
        body={"status": "park-closed"},
        skip_policy=True,
    )
    assert closed.status == 403


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
