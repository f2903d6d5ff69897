"""The users API: active tenant, memberships, new tenants, and who may change roles."""

from __future__ import annotations

from typing import Any

import pytest

from tests.examples.conftest import StateParks, make_token


def ids(body: dict[str, Any]) -> set[str]:
    return {item["id"] for item in body["items"]}


def webhooks(app: StateParks, user: str, park: str) -> int:
    """The status of listing a park's webhooks: 404 unless the park is in the caller's
    active tenant (the parks routes themselves are direct: test_parks.py)."""
    return app.call(user, "GET", "/parks/{parkId}/webhooks", {"parkId": park}).status


def subscribe(app: StateParks, user: str, park: str) -> int:
    """The status of subscribing a webhook: members and admins only."""
    body = {"eventType": "park-closed", "endpoint": f"https://hooks.example.com/{user}"}
    return app.call(user, "POST", "/parks/{parkId}/webhooks", {"parkId": park}, body=body).status


def test_settings_show_the_active_tenant_and_its_roles(app: StateParks) -> None:
    assert app.call("alice", "GET", "/settings").body == {
        "active": {"customerId": "texas", "roles": ["admin", "member"]}
    }
    assert app.call("bob", "GET", "/settings").body == {
        "active": {"customerId": "washington", "roles": ["admin"]}
    }
    assert app.call("carol", "GET", "/settings").body == {
        "active": {"customerId": "texas", "roles": ["visitor"]}
    }
    assert app.call("dave", "GET", "/settings").body == {
        "active": {"customerId": None, "roles": []}
    }


def test_customers_list_the_callers_memberships(app: StateParks) -> None:
    assert app.call("alice", "GET", "/customers").body == {
        "items": [
            {"id": "colorado", "roles": ["visitor"]},
            {"id": "texas", "roles": ["admin", "member"]},
        ]
    }
    assert app.call("dave", "GET", "/customers").body == {"items": []}


def test_alice_switches_to_colorado_and_sees_colorado_as_a_visitor(app: StateParks) -> None:
    assert app.call("alice", "PUT", "/settings", body={"customerId": "colorado"}).status == 204
    assert webhooks(app, "alice", "eldorado-canyon") == 200
    assert webhooks(app, "alice", "palo-duro-canyon") == 404
    assert app.call("alice", "GET", "/settings").body["active"] == {
        "customerId": "colorado",
        "roles": ["visitor"],
    }
    # Her texas admin role does not follow her into colorado.
    assert subscribe(app, "alice", "eldorado-canyon") == 403


@pytest.mark.parametrize(
    ("user", "tenant"),
    [("carol", "washington"), ("bob", "texas"), ("dave", "texas"), ("alice", "nowhere")],
)
def test_switching_to_a_tenant_one_is_not_a_member_of_is_a_403(
    app: StateParks, user: str, tenant: str
) -> None:
    before = app.call(user, "GET", "/settings").body
    assert app.call(user, "PUT", "/settings", body={"customerId": tenant}).status == 403
    assert app.call(user, "GET", "/settings").body == before


def test_dave_creates_newstate_becomes_its_admin_but_cannot_join_texas(app: StateParks) -> None:
    created = app.call("dave", "POST", "/customers", body={"id": "newstate", "makeActive": True})
    assert (created.status, created.body) == (201, {"id": "newstate"})
    assert app.call("dave", "GET", "/settings").body == {
        "active": {"customerId": "newstate", "roles": ["admin"]}
    }
    assert webhooks(app, "dave", "palo-duro-canyon") == 404  # newstate has no parks

    joined = app.call("dave", "POST", "/customers", body={"id": "texas", "roles": ["admin"]})
    assert joined.status == 403
    assert app.call("dave", "PUT", "/settings", body={"customerId": "texas"}).status == 403
    self_added = app.call(
        "dave",
        "POST",
        "/customers/{customerId}/members",
        {"customerId": "texas"},
        body={"userId": "dave", "roles": ["admin"]},
    )
    assert self_added.status == 403
    assert ids(app.call("dave", "GET", "/customers").body) == {"newstate"}


def test_attack_one_user_founds_a_sixth_customer(app: StateParks) -> None:
    """Each tenant may hold 100 webhook topics of the account's shared quota: 5 per user."""
    for number in range(5):
        created = app.call("dave", "POST", "/customers", body={"id": f"state{number}"})
        assert created.status == 201
    refused = app.call("dave", "POST", "/customers", body={"id": "state5"})
    assert refused.status == 429
    assert set(refused.body) == {"message"}
    assert "at most 5" in refused.body["message"]
    assert ids(app.call("dave", "GET", "/customers").body) == {f"state{n}" for n in range(5)}
    # Another user may still found, and may found the id dave was refused.
    assert app.call("carol", "POST", "/customers", body={"id": "state5"}).status == 201


@pytest.mark.parametrize("variant", ["Texas", "TEXAS", "tExAs"])
def test_attack_founding_texas_beside_texas(app: StateParks, variant: str) -> None:
    refused = app.call("dave", "POST", "/customers", body={"id": variant, "makeActive": True})
    assert refused.status == 403
    assert "letter case" in refused.body["message"]
    assert app.call("dave", "GET", "/customers").body == {"items": []}
    assert app.call("dave", "GET", "/settings").body["active"]["customerId"] is None
    # Founding a seeded id exactly is refused as before.
    exact = app.call("dave", "POST", "/customers", body={"id": "texas"})
    assert exact.status == 403
    assert "already exists" in exact.body["message"]


def test_roles_in_a_new_customer_body_are_ignored(app: StateParks) -> None:
    created = app.call("carol", "POST", "/customers", body={"id": "oregon", "roles": ["visitor"]})
    assert created.status == 201
    memberships = app.call("carol", "GET", "/customers").body["items"]
    assert {"id": "oregon", "roles": ["admin"]} in memberships
    # Without makeActive, carol stays in texas.
    assert app.call("carol", "GET", "/settings").body["active"]["customerId"] == "texas"


def test_carol_cannot_raise_her_own_roles(app: StateParks) -> None:
    for body in ({"roles": ["admin"]}, {"roles": ["admin"], "userId": "carol"}):
        raised = app.call(
            "carol", "PUT", "/customers/{customerId}/roles", {"customerId": "texas"}, body=body
        )
        assert raised.status == 403
    readded = app.call(
        "carol",
        "POST",
        "/customers/{customerId}/members",
        {"customerId": "texas"},
        body={"userId": "carol", "roles": ["admin"]},
    )
    assert readded.status == 403
    assert app.call("carol", "GET", "/settings").body["active"]["roles"] == ["visitor"]
    assert subscribe(app, "carol", "palo-duro-canyon") == 403


def test_even_an_admin_cannot_change_their_own_roles(app: StateParks) -> None:
    response = app.call(
        "alice",
        "PUT",
        "/customers/{customerId}/roles",
        {"customerId": "texas"},
        body={"roles": ["visitor"]},
    )
    assert response.status == 403
    assert app.call("alice", "GET", "/settings").body["active"]["roles"] == ["admin", "member"]


def test_an_admin_sets_another_members_roles(app: StateParks) -> None:
    promoted = app.call(
        "alice",
        "PUT",
        "/customers/{customerId}/roles",
        {"customerId": "texas"},
        body={"userId": "carol", "roles": ["member"]},
    )
    assert promoted.status == 204
    assert subscribe(app, "carol", "palo-duro-canyon") == 201


def test_an_admin_of_one_tenant_cannot_manage_another(app: StateParks) -> None:
    response = app.call(
        "bob",
        "PUT",
        "/customers/{customerId}/roles",
        {"customerId": "texas"},
        body={"userId": "carol", "roles": ["admin"]},
    )
    assert response.status == 403
    added = app.call(
        "bob",
        "POST",
        "/customers/{customerId}/members",
        {"customerId": "texas"},
        body={"userId": "bob", "roles": ["admin"]},
    )
    assert added.status == 403
    # A visitor of colorado is no admin there either.
    visitor = app.call(
        "alice",
        "POST",
        "/customers/{customerId}/members",
        {"customerId": "colorado"},
        body={"userId": "dave", "roles": ["visitor"]},
    )
    assert visitor.status == 403


def test_adding_members(app: StateParks) -> None:
    path = {"customerId": "washington"}
    unknown = app.call(
        "bob",
        "POST",
        "/customers/{customerId}/members",
        path,
        body={"userId": "nobody", "roles": ["member"]},
    )
    assert unknown.status == 404
    body = {"userId": "carol", "roles": ["member"]}
    assert app.call("bob", "POST", "/customers/{customerId}/members", path, body=body).status == 204
    again = app.call("bob", "POST", "/customers/{customerId}/members", path, body=body)
    assert again.status == 409
    assert app.call("carol", "PUT", "/settings", body={"customerId": "washington"}).status == 204
    assert webhooks(app, "carol", "deception-pass") == 200


def test_a_new_user_gets_a_record_from_the_tokens_claims(app: StateParks) -> None:
    import config

    token = make_token("erin", email="erin@example.com", given_name="Erin", family_name="Ng")
    assert app.call(None, "GET", "/customers", token=token).body == {"items": []}
    record = config.user_directory().get_user("erin")
    assert record is not None
    assert (record.email, record.given_name, record.family_name) == (
        "erin@example.com",
        "Erin",
        "Ng",
    )
    assert record.memberships == {}
    assert app.call(None, "POST", "/customers", body={"id": "idaho"}, token=token).status == 201


def test_the_user_id_comes_only_from_the_authorizer(app: StateParks) -> None:
    """A userId in the body or headers does not make the caller someone else."""
    response = app.call(
        "dave",
        "PUT",
        "/settings",
        body={"customerId": "texas", "userId": "alice"},
        headers={"X-User-Id": "alice"},
    )
    assert response.status == 403
    assert app.call("alice", "GET", "/settings").body["active"]["customerId"] == "texas"


BAD_BODIES: list[tuple[str, str, dict[str, Any]]] = [
    ("PUT", "/settings", {}),
    ("PUT", "/settings", {"customerId": ""}),
    ("PUT", "/settings", {"customerId": "bad id!"}),
    ("PUT", "/settings", {"customerId": 5}),
    ("POST", "/customers", {"id": "_reserved"}),
    ("POST", "/customers", {"id": "x" * 65}),
    ("POST", "/customers", {"id": "ok", "makeActive": "yes"}),
    # roles are ignored, but must be what openapi.yaml declares (test_openapi.py)
    ("POST", "/customers", {"id": "ok", "roles": ["owner"]}),
    ("POST", "/customers", {"id": "ok", "roles": []}),
    ("POST", "/customers", {"id": "ok", "roles": "admin"}),
    ("POST", "/customers/{customerId}/members", {"userId": "carol"}),
    ("POST", "/customers/{customerId}/members", {"userId": "carol", "roles": []}),
    ("POST", "/customers/{customerId}/members", {"userId": "carol", "roles": ["owner"]}),
    ("POST", "/customers/{customerId}/members", {"userId": "a\u0000b", "roles": ["member"]}),
    ("PUT", "/customers/{customerId}/roles", {"roles": "admin"}),
    ("PUT", "/customers/{customerId}/roles", {"roles": ["root"], "userId": "carol"}),
]


def test_bad_users_api_bodies_are_400s(app: StateParks) -> None:
    for method, resource, body in BAD_BODIES:
        params = {"customerId": "texas"} if "{customerId}" in resource else None
        response = app.call("alice", method, resource, params, body=body)
        assert response.status == 400, (method, resource, body)
        assert response.body["errors"]
    assert app.call("alice", "GET", "/customers").body["items"] == [
        {"id": "colorado", "roles": ["visitor"]},
        {"id": "texas", "roles": ["admin", "member"]},
    ]


def test_a_malformed_customer_id_in_the_path_is_refused_cleanly(app: StateParks) -> None:
    for customer in ("bad id", "_user#alice", "x" * 100):
        response = app.call(
            "alice",
            "PUT",
            "/customers/{customerId}/roles",
            {"customerId": customer},
            body={"userId": "carol", "roles": ["admin"]},
        )
        assert 400 <= response.status < 500
        assert set(response.body) == {"message"}
