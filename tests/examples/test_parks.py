"""The parks routes: listing with signed cursors, adding, reading, and every bad input."""

from __future__ import annotations

import pytest

from tests.examples.conftest import StateParks

TEXAS = {"palo-duro-canyon", "big-bend-ranch", "enchanted-rock"}
WASHINGTON = {"deception-pass", "cape-disappointment"}
COLORADO = {"eldorado-canyon", "roxborough"}


def ids(response_body: dict[str, object]) -> set[str]:
    return {item["id"] for item in response_body["items"]}  # type: ignore[attr-defined]


def test_each_user_lists_only_their_active_tenants_parks(app: StateParks) -> None:
    assert ids(app.call("alice", "GET", "/parks").body) == TEXAS
    assert ids(app.call("carol", "GET", "/parks").body) == TEXAS
    assert ids(app.call("bob", "GET", "/parks").body) == WASHINGTON
    listed = app.call("alice", "GET", "/parks").body
    assert listed["cursor"] is None
    assert {"id": "enchanted-rock", "name": "Enchanted Rock State Natural Area"}.items() <= next(
        item for item in listed["items"] if item["id"] == "enchanted-rock"
    ).items()
    assert all(item["status"] == "park-opened" for item in listed["items"])


def test_listing_pages_through_signed_cursors(app: StateParks) -> None:
    first = app.call("alice", "GET", "/parks", query={"limit": "2"})
    assert first.status == 200
    assert len(first.body["items"]) == 2
    assert first.body["cursor"]
    second = app.call(
        "alice", "GET", "/parks", query={"limit": "2", "cursor": first.body["cursor"]}
    )
    assert second.status == 200
    assert ids(first.body) | ids(second.body) == TEXAS
    assert not ids(first.body) & ids(second.body)


def test_a_cursor_is_refused_in_another_tenant_or_when_edited(app: StateParks) -> None:
    cursor = app.call("alice", "GET", "/parks", query={"limit": "1"}).body["cursor"]
    other_tenant = app.call("bob", "GET", "/parks", query={"cursor": cursor})
    assert other_tenant.status == 400
    assert "message" in other_tenant.body
    edited = cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1]
    assert app.call("alice", "GET", "/parks", query={"cursor": edited}).status == 400
    assert app.call("alice", "GET", "/parks", query={"cursor": "garbage"}).status == 400


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "1.5", "", "\u00b2", "\u0661"])
def test_a_bad_limit_is_a_400(app: StateParks, limit: str) -> None:
    response = app.call("alice", "GET", "/parks", query={"limit": limit})
    assert response.status == 400
    assert "limit" in response.body["message"]


def test_admins_and_members_add_parks_and_read_them_back(
    app: StateParks, texas_member: str
) -> None:
    created = app.call("alice", "POST", "/parks", body={"id": "lost-maples", "name": "Lost Maples"})
    assert (created.status, created.body) == (201, {"id": "lost-maples"})
    by_member = app.call(
        texas_member,
        "POST",
        "/parks",
        body={"id": "garner", "name": "Garner State Park", "status": "park-closed"},
    )
    assert by_member.status == 201
    park = app.call("carol", "GET", "/parks/{parkId}", {"parkId": "garner"})
    assert (park.status, park.body) == (
        200,
        {"id": "garner", "name": "Garner State Park", "status": "park-closed"},
    )
    assert {"lost-maples", "garner"} <= ids(app.call("carol", "GET", "/parks").body)


def test_a_duplicate_park_id_is_a_409_and_the_park_is_unchanged(app: StateParks) -> None:
    response = app.call("alice", "POST", "/parks", body={"id": "enchanted-rock", "name": "Other"})
    assert response.status == 409
    park = app.call("alice", "GET", "/parks/{parkId}", {"parkId": "enchanted-rock"}).body
    assert park["name"] == "Enchanted Rock State Natural Area"


def test_the_same_park_id_in_two_tenants_is_two_parks(app: StateParks) -> None:
    assert (
        app.call("bob", "POST", "/parks", body={"id": "enchanted-rock", "name": "WA rock"}).status
        == 201
    )
    texas = app.call("alice", "GET", "/parks/{parkId}", {"parkId": "enchanted-rock"}).body
    washington = app.call("bob", "GET", "/parks/{parkId}", {"parkId": "enchanted-rock"}).body
    assert texas["name"] == "Enchanted Rock State Natural Area"
    assert washington["name"] == "WA rock"


BAD_PARKS: list[tuple[dict[str, object], str]] = [
    ({"name": "No id"}, "id"),
    ({"id": "no-name"}, "name"),
    ({"id": "Upper-Case", "name": "x"}, "id"),
    ({"id": "has space", "name": "x"}, "id"),
    ({"id": "a#b", "name": "x"}, "id"),
    ({"id": "x" * 65, "name": "x"}, "id"),
    ({"id": "", "name": "x"}, "id"),
    ({"id": "ok", "name": ""}, "name"),
    ({"id": "ok", "name": "x", "status": "on-fire"}, "status"),
    ({"id": 7, "name": "x"}, "id"),
    ({"id": "ok", "name": ["x"]}, "name"),
]


def test_a_bad_park_body_is_a_400_naming_the_field(app: StateParks) -> None:
    for body, field in BAD_PARKS:
        response = app.call("alice", "POST", "/parks", body=body)
        assert response.status == 400, body
        assert field in {error["field"] for error in response.body["errors"]}, body
        assert response.body["message"].startswith("invalid request body")
    assert ids(app.call("alice", "GET", "/parks").body) == TEXAS


def test_a_body_that_is_not_a_json_object_is_a_400(app: StateParks) -> None:
    for raw in ["", "not json", "[]", "null", '"text"', "{", '{"id": "a"', "\u0000"]:
        response = app.call("alice", "POST", "/parks", raw_body=raw)
        assert response.status == 400, raw
        assert set(response.body) <= {"message", "errors"}


@pytest.mark.parametrize("park_id", ["nope", "UPPER", "a#b", "x" * 300, "%00", "../texas"])
def test_an_unknown_or_malformed_park_id_is_a_404(app: StateParks, park_id: str) -> None:
    response = app.call("alice", "GET", "/parks/{parkId}", {"parkId": park_id})
    assert (response.status, response.body) == (
        404,
        {"message": "park not found in your active tenant"},
    )
