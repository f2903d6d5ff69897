"""Webhooks (a tenant-isolated Lambda function), in-process: owners, masking, SSRF checks."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.examples.conftest import Receiver, StateParks

PALO_DURO = {"parkId": "palo-duro-canyon"}


def subscribe(
    app: StateParks, user: str, park: dict[str, str], event_type: str, endpoint: str
) -> str:
    response = app.call(
        user,
        "POST",
        "/parks/{parkId}/webhooks",
        park,
        body={"eventType": event_type, "endpoint": endpoint},
    )
    assert response.status == 201, response.body
    webhook_id: str = response.body["id"]
    return webhook_id


def test_webhooks_are_listed_and_deleted_per_park_and_tenant(
    app: StateParks, texas_member: str
) -> None:
    hook = subscribe(app, texas_member, PALO_DURO, "park-closed", "https://hooks.example.com/m")
    other = subscribe(
        app, "alice", {"parkId": "enchanted-rock"}, "park-closed", "https://hooks.example.com/a"
    )
    listed = app.call("alice", "GET", "/parks/{parkId}/webhooks", PALO_DURO)
    assert listed.status == 200
    [item] = listed.body["items"]
    assert item["id"] == hook
    assert (item["eventType"], item["endpoint"], item["mine"]) == (
        "park-closed",
        "https://***.example.com/***om/m",
        False,
    )

    # bob, in washington, cannot delete texas's webhook, even through one of his parks.
    for park in (PALO_DURO, {"parkId": "deception-pass"}):
        params = {**park, "webhookId": hook}
        refused = app.call("bob", "DELETE", "/parks/{parkId}/webhooks/{webhookId}", params)
        assert refused.status == 404
    # Nor can it be deleted through another park of the same tenant.
    params = {"parkId": "enchanted-rock", "webhookId": hook}
    assert app.call("alice", "DELETE", "/parks/{parkId}/webhooks/{webhookId}", params).status == 404

    params = {**PALO_DURO, "webhookId": hook}
    assert app.call("alice", "DELETE", "/parks/{parkId}/webhooks/{webhookId}", params).status == 204
    assert app.call("alice", "DELETE", "/parks/{parkId}/webhooks/{webhookId}", params).status == 404
    assert app.call("alice", "GET", "/parks/{parkId}/webhooks", PALO_DURO).body == {"items": []}
    rock = app.call("alice", "GET", "/parks/{parkId}/webhooks", {"parkId": "enchanted-rock"})
    assert [i["id"] for i in rock.body["items"]] == [other]


SECRET_HOOK = "https://s3cr3tlabel.hooks.example.com/in;key=Q9x7Zr2Lm4Np/x?token=Zq8Wm3Kd/hook"
SECRETS = ("s3cr3tlabel", "Q9x7Zr2Lm4Np", "Zq8Wm3Kd")


def test_endpoint_credentials_are_masked_in_listings(app: StateParks) -> None:
    subscribe(app, "alice", PALO_DURO, "park-closed", SECRET_HOOK)
    for user in ("alice", "carol"):
        listed = app.call(user, "GET", "/parks/{parkId}/webhooks", PALO_DURO).body
        [item] = listed["items"]
        assert item["endpoint"] == "https://***.example.com/***hook"
        assert item["mine"] is (user == "alice")
        assert not any(secret in json.dumps(listed) for secret in SECRETS)


def test_attack_a_visitor_or_member_cannot_read_or_delete_an_admins_webhook(
    app: StateParks, texas_member: str
) -> None:
    hook = subscribe(app, "alice", PALO_DURO, "park-closed", SECRET_HOOK)
    params = {**PALO_DURO, "webhookId": hook}
    route = "/parks/{parkId}/webhooks/{webhookId}"
    for intruder in ("carol", texas_member):  # a visitor, then a member of texas
        for method in ("GET", "DELETE"):
            refused = app.call(intruder, method, route, params)
            assert refused.status == 403, (intruder, method)
            assert not any(secret in json.dumps(refused.body) for secret in SECRETS)
    shown = app.call("alice", "GET", route, params)
    assert shown.status == 200
    assert (shown.body["id"], shown.body["endpoint"], shown.body["mine"]) == (
        hook,
        SECRET_HOOK,
        True,
    )
    listed = app.call("alice", "GET", "/parks/{parkId}/webhooks", PALO_DURO).body
    assert [item["id"] for item in listed["items"]] == [hook]


def test_attack_a_member_subscribing_an_admins_endpoint_gets_a_409_that_names_nothing(
    app: StateParks, texas_member: str
) -> None:
    hook = subscribe(app, "alice", PALO_DURO, "park-closed", SECRET_HOOK)
    body = {"eventType": "park-closed", "endpoint": SECRET_HOOK}
    refused = app.call(texas_member, "POST", "/parks/{parkId}/webhooks", PALO_DURO, body=body)
    assert refused.status == 409
    assert hook not in json.dumps(refused.body)
    assert "alice" not in json.dumps(refused.body)
    route = "/parks/{parkId}/webhooks/{webhookId}"
    params = {**PALO_DURO, "webhookId": hook}
    assert app.call(texas_member, "DELETE", route, params).status == 403
    assert app.call("alice", "GET", route, params).body["mine"] is True


def test_an_admin_subscribing_a_members_endpoint_takes_it_over(
    app: StateParks, texas_member: str
) -> None:
    endpoint = "https://ops.example.com/alerts/abc"
    squatted = subscribe(app, texas_member, PALO_DURO, "park-closed", endpoint)
    assert subscribe(app, "alice", PALO_DURO, "park-closed", endpoint) == squatted
    assert subscribe(app, "alice", PALO_DURO, "park-closed", endpoint) == squatted
    params = {**PALO_DURO, "webhookId": squatted}
    route = "/parks/{parkId}/webhooks/{webhookId}"
    assert app.call(texas_member, "DELETE", route, params).status == 403
    assert app.call("alice", "GET", route, params).body["mine"] is True


def test_members_manage_their_own_webhooks_and_admins_everyones(
    app: StateParks, texas_member: str
) -> None:
    route = "/parks/{parkId}/webhooks/{webhookId}"
    own = subscribe(app, texas_member, PALO_DURO, "park-closed", "https://hooks.example.com/own")
    params = {**PALO_DURO, "webhookId": own}
    shown = app.call(texas_member, "GET", route, params).body
    assert (shown["endpoint"], shown["mine"]) == ("https://hooks.example.com/own", True)
    assert app.call(texas_member, "DELETE", route, params).status == 204
    theirs = subscribe(app, texas_member, PALO_DURO, "park-closed", "https://hooks.example.com/t")
    params = {**PALO_DURO, "webhookId": theirs}
    assert app.call("alice", "GET", route, params).body["endpoint"] == "https://hooks.example.com/t"
    assert app.call("alice", "DELETE", route, params).status == 204
    assert app.call("alice", "GET", route, params).status == 404


def test_visitors_only_list_webhooks(app: StateParks) -> None:
    body = {"eventType": "park-closed", "endpoint": "https://hooks.example.com/carol"}
    assert app.call("carol", "POST", "/parks/{parkId}/webhooks", PALO_DURO, body=body).status == 403
    assert app.call("carol", "GET", "/parks/{parkId}/webhooks", PALO_DURO).status == 200


REFUSED_ENDPOINTS = [
    "http://hooks.example.com/x",
    "https://127.0.0.1/x",
    "https://localhost/x",
    "https://169.254.169.254/latest/meta-data",
    "https://[::ffff:169.254.169.254]/",
    "https://2852039166/",
    "https://0177.0.0.1/",
    "https://10.0.0.5/",
    "https://user:pass@hooks.example.com/",
    "https://good@169.254.169.254/",
    "https://metadata.internal/",
    "https://169.254.169.254.nip.io/latest/meta-data",
    "https://magic-0a000001.nip.io/",
    "https://kubernetes.default.svc/",
    "ftp://hooks.example.com/",
    "not a url",
]


def test_a_refused_endpoint_is_a_400(app: StateParks) -> None:
    for endpoint in REFUSED_ENDPOINTS:
        response = app.call(
            "alice",
            "POST",
            "/parks/{parkId}/webhooks",
            PALO_DURO,
            body={"eventType": "park-closed", "endpoint": endpoint},
        )
        assert response.status == 400, endpoint
        assert set(response.body) == {"message"}
    assert app.call("alice", "GET", "/parks/{parkId}/webhooks", PALO_DURO).body == {"items": []}


@pytest.mark.parametrize(
    ("records", "endpoint"),
    [
        (["10.0.0.7"], "https://inside.example.com/hook"),
        (["93.184.216.34", "169.254.169.254"], "https://rebind.example.com/hook"),
        (["fd00::7"], "https://v6inside.example.com/hook"),
        ([], "https://nothing.example.com/hook"),
    ],
)
def test_attack_a_name_resolving_inside_is_refused_at_subscribe_time(
    app: StateParks, records: list[str], endpoint: str
) -> None:
    host = endpoint.split("/")[2]
    app.dns.records[host] = records
    response = app.call(
        "alice",
        "POST",
        "/parks/{parkId}/webhooks",
        PALO_DURO,
        body={"eventType": "park-closed", "endpoint": endpoint},
    )
    assert response.status == 400, response.body
    assert host not in json.dumps(response.body)
    assert app.call("alice", "GET", "/parks/{parkId}/webhooks", PALO_DURO).body == {"items": []}


def test_attack_a_name_resolving_inside_is_refused_with_local_webhooks_too(
    app: StateParks, receiver: Receiver
) -> None:
    app.dns.records["printer.example.com"] = ["192.168.1.20"]
    response = app.call(
        "alice",
        "POST",
        "/parks/{parkId}/webhooks",
        PALO_DURO,
        body={"eventType": "park-closed", "endpoint": "http://printer.example.com/hook"},
    )
    assert response.status == 400, response.body


def test_the_example_resolves_webhook_hosts_with_the_system_resolver() -> None:
    """Outside the tests' fake DNS, the example asks the system resolver (here for
    localhost, which the hosts file answers: no DNS query leaves the machine)."""
    import config

    assert set(config.resolve_webhook_host("localhost")) & {"127.0.0.1", "::1"}


def test_loopback_endpoints_need_allow_local_webhooks(app: StateParks, receiver: Receiver) -> None:
    """The receiver fixture turns AllowLocalWebhooks on; that is what lets it subscribe."""
    assert subscribe(app, "alice", PALO_DURO, "park-closed", f"{receiver.url}/ok")


@pytest.mark.parametrize(
    "body",
    [
        {"eventType": "park-exploded", "endpoint": "https://hooks.example.com/"},
        # the reference accepts it, but no status change ever publishes park-opened
        {"eventType": "park-opened", "endpoint": "https://hooks.example.com/"},
        {"eventType": "park-closed", "endpoint": ""},
        {"eventType": "park-closed"},
        {"endpoint": "https://hooks.example.com/"},
        {"eventType": "park-closed", "endpoint": "https://h.example.com/" + "x" * 2100},
    ],
)
def test_bad_webhook_bodies_are_400s(app: StateParks, body: dict[str, Any]) -> None:
    response = app.call("alice", "POST", "/parks/{parkId}/webhooks", PALO_DURO, body=body)
    assert response.status == 400
    assert response.body["errors"]


def test_webhooks_on_an_absent_park_are_404s(app: StateParks) -> None:
    park = {"parkId": "atlantis"}
    body = {"eventType": "park-closed", "endpoint": "https://hooks.example.com/"}
    assert app.call("alice", "POST", "/parks/{parkId}/webhooks", park, body=body).status == 404
    assert app.call("alice", "GET", "/parks/{parkId}/webhooks", park).status == 404
