"""The direct parks routes, served from the generated definition by the local gateway.

API Gateway itself reads and writes parks here (VTL to DynamoDB): these tests go through
the authorizer, the request validator, the mapping templates and the table, and try the
attacks on each step: spoofed tenants, hostile bodies and cursors, other tenants' ids.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.examples.conftest import Served, make_token

TEXAS = {"palo-duro-canyon", "big-bend-ranch", "enchanted-rock"}
WASHINGTON = {"deception-pass", "cape-disappointment"}
COLORADO = {"eldorado-canyon", "roxborough"}
# Whatever a direct route answers is one of these, and an error is {"message": ...}.
STATUSES = {200, 201, 204, 400, 403, 404, 409}

ATTACKS = [
    'quote " inside',
    "back\\slash\\",
    "brace } and ]",
    "hash # and #$x and $context.authorizer.tenantId",
    "dollar $util.escapeJavaScript('x') ${x}",
    "nul \u0000 here",
    "new\nline\r\n",
    "single ' quote \\'",
    'x"}, "pk": {"S": "washington#park#deception-pass"}, "y": {"S": "',
    "#set($context.authorizer.tenantId = 'washington')",
]


def ids(body: dict[str, Any]) -> set[str]:
    return {item["id"] for item in body["items"]}


def listed(served: Served, user: str, **query: str) -> set[str]:
    """Every park id ``user`` lists, following the cursors."""
    found: set[str] = set()
    cursor = None
    while True:
        page_query = dict(query) | ({"cursor": cursor} if cursor else {})
        response = served.call(user, "GET", "/parks", query=page_query)
        assert response.status == 200, response.body
        found |= ids(response.body)
        cursor = response.body["cursor"]
        if cursor is None:
            return found


def test_each_user_lists_only_their_active_tenants_parks(served: Served) -> None:
    assert listed(served, "alice") >= TEXAS
    assert listed(served, "carol") == listed(served, "alice")
    assert not listed(served, "bob") & TEXAS
    page = served.call("bob", "GET", "/parks").body
    assert page["cursor"] is None
    deception = next(item for item in page["items"] if item["id"] == "deception-pass")
    assert deception == {
        "id": "deception-pass",
        "name": "Deception Pass State Park",
        "status": "park-opened",
    }


def test_pages_follow_their_cursor_and_never_repeat(served: Served) -> None:
    _, admin = served.new_tenant("paged")
    for n in range(5):
        body = {"id": f"park-{n}", "name": f"Park {n}"}
        assert served.call(admin, "POST", "/parks", body=body).status == 201
    seen: list[str] = []
    cursor = None
    for _ in range(3):
        query = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        page = served.call(admin, "GET", "/parks", query=query).body
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        cursor = page["cursor"]
    assert seen == [f"park-{n}" for n in range(5)]
    assert cursor is None


def test_attack_a_cursor_cannot_reach_another_tenants_parks(served: Served) -> None:
    """The template re-prefixes every key in a cursor with the caller's tenant, so a cursor
    made for texas (or written by hand to name washington) lists only the caller's own."""
    texas_cursor = served.call("alice", "GET", "/parks", query={"limit": "1"}).body["cursor"]
    assert texas_cursor
    for hostile in [
        texas_cursor,
        "palo-duro-canyon~stexas#park#palo-duro-canyon~spark",
        "palo-duro-canyon~spark#palo-duro-canyon~spark",
        "a~sb",
        "~s~s",
        "x" * 2000,
        '"}, "pk": {"S": "washington#park#deception-pass"}~sa~sb',
        "%00~s%00~s%00",
        "$context.authorizer.tenantId~sa~sb",
    ]:
        response = served.call("bob", "GET", "/parks", query={"cursor": hostile})
        assert response.status in {200, 400}, (hostile, response.body)
        if response.status == 200:
            assert not ids(response.body) & TEXAS, hostile


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "1.5", "1e2", " 5"])
def test_a_bad_limit_is_a_400(served: Served, limit: str) -> None:
    response = served.call("alice", "GET", "/parks", query={"limit": limit})
    assert response.status == 400
    assert set(response.body) == {"message"}


def test_admins_and_members_add_parks_and_read_them_back(served: Served) -> None:
    created = served.call("alice", "POST", "/parks", body={"id": "lost-maples", "name": "Lost"})
    assert (created.status, created.body) == (201, {"id": "lost-maples"})
    body = {"id": "garner", "name": "Garner State Park", "status": "park-closed"}
    assert served.call("alice", "POST", "/parks", body=body).status == 201
    park = served.call("carol", "GET", "/parks/{parkId}", {"parkId": "garner"})
    assert (park.status, park.body) == (
        200,
        {"id": "garner", "name": body["name"], "status": "park-closed"},
    )
    assert {"lost-maples", "garner"} <= listed(served, "carol")


def test_a_park_added_without_a_status_is_open(served: Served) -> None:
    """As the reference answers: api.yaml gives the field a default, written by the route."""
    created = served.call("alice", "POST", "/parks", body={"id": "no-status", "name": "N"})
    assert created.status == 201, created.body
    park = served.call("alice", "GET", "/parks/{parkId}", {"parkId": "no-status"}).body
    assert park == {"id": "no-status", "name": "N", "status": "park-opened"}


def test_a_duplicate_park_id_is_a_409_and_the_park_is_unchanged(served: Served) -> None:
    response = served.call("alice", "POST", "/parks", body={"id": "enchanted-rock", "name": "X"})
    assert (response.status, response.body) == (409, {"message": "Conflict"})
    park = served.call("alice", "GET", "/parks/{parkId}", {"parkId": "enchanted-rock"}).body
    assert park["name"] == "Enchanted Rock State Natural Area"


def test_the_same_park_id_in_two_tenants_is_two_parks(served: Served) -> None:
    """A fresh tenant takes texas's id: the seeded tenants stay as other tests read them."""
    _, admin = served.new_tenant("twin")
    body = {"id": "big-bend-ranch", "name": "Twin ranch"}
    assert served.call(admin, "POST", "/parks", body=body).status == 201
    texas = served.call("alice", "GET", "/parks/{parkId}", {"parkId": "big-bend-ranch"}).body
    twin = served.call(admin, "GET", "/parks/{parkId}", {"parkId": "big-bend-ranch"}).body
    assert texas["name"] == "Big Bend Ranch State Park"
    assert twin["name"] == "Twin ranch"


BAD_PARKS: list[dict[str, object]] = [
    {"name": "No id"},
    {"id": "no-name"},
    {"id": "Upper-Case", "name": "x"},
    {"id": "has space", "name": "x"},
    {"id": "a#b", "name": "x"},
    {"id": "x" * 65, "name": "x"},
    {"id": "", "name": "x"},
    {"id": "ok", "name": ""},
    {"id": "ok", "name": "x" * 201},
    {"id": "ok", "name": "x", "status": "on-fire"},
    {"id": 7, "name": "x"},
    {"id": "ok", "name": ["x"]},
    {"id": "ok", "name": "x", "tenantId": "washington"},
    {"id": "ok", "name": "x", "pk": "washington#park#ok"},
]


@pytest.mark.parametrize("body", BAD_PARKS)
def test_a_bad_park_body_is_refused_before_any_template_runs(
    served: Served, body: dict[str, object]
) -> None:
    before = listed(served, "alice")
    response = served.call("alice", "POST", "/parks", body=body)
    assert (response.status, response.body) == (400, {"message": "Invalid request body"})
    assert listed(served, "alice") == before


@pytest.mark.parametrize("raw", ["", "not json", "[]", "null", '"text"', "{", '{"id": "a"'])
def test_a_body_that_is_not_a_json_object_is_a_400(served: Served, raw: str) -> None:
    response = served.call("alice", "POST", "/parks", raw_body=raw)
    assert response.status == 400
    assert set(response.body) == {"message"}


@pytest.mark.parametrize(
    "park_id", ["nope", "UPPER", "a#b", "x" * 300, "%00", "..", "deception-pass"]
)
def test_an_unknown_malformed_or_foreign_park_id_is_a_404(served: Served, park_id: str) -> None:
    response = served.call("alice", "GET", "/parks/{parkId}", {"parkId": park_id})
    assert (response.status, response.body) == (404, {"message": "Not Found"})


@pytest.mark.parametrize("attack", ATTACKS)
def test_attack_a_park_name_cannot_break_out_of_its_string(served: Served, attack: str) -> None:
    """Every hostile name is stored and read back verbatim, in the caller's tenant only."""
    park_id = f"attack-{ATTACKS.index(attack)}"
    created = served.call("alice", "POST", "/parks", body={"id": park_id, "name": attack})
    assert created.status == 201, created.body
    park = served.call("alice", "GET", "/parks/{parkId}", {"parkId": park_id}).body
    assert park["name"] == attack
    assert served.call("bob", "GET", "/parks/{parkId}", {"parkId": park_id}).status == 404
    washington = served.call("bob", "GET", "/parks/{parkId}", {"parkId": "deception-pass"})
    assert washington.body["name"] == "Deception Pass State Park"


@pytest.mark.parametrize("name", ["\\ud800", "a\\udfffb", "\\udfde\\ud83c"])
def test_a_name_with_a_lone_surrogate_is_refused(served: Served, name: str) -> None:
    """JSON can spell half a UTF-16 pair; no store takes it, so the validator refuses it."""
    raw = '{"id": "half-char", "name": "' + name + '"}'
    response = served.call("alice", "POST", "/parks", raw_body=raw)
    assert (response.status, response.body) == (400, {"message": "Invalid request body"})
    assert served.call("alice", "GET", "/parks/{parkId}", {"parkId": "half-char"}).status == 404


def test_a_name_of_the_longest_utf8_is_stored_whole(served: Served) -> None:
    """200 characters of 4 UTF-8 bytes each, with the longest id: far below the key and
    item limits, and nothing is cut."""
    name = "\U0001f3de" * 200
    park_id = "p" * 64
    assert served.call("alice", "POST", "/parks", body={"id": park_id, "name": name}).status == 201
    assert served.call("alice", "GET", "/parks/{parkId}", {"parkId": park_id}).body["name"] == name


@pytest.mark.parametrize(
    "spoof",
    [
        {"query": {"tenantId": "washington"}},
        {"headers": {"X-Tenant-Id": "washington"}},
        {"headers": {"X-Amz-Tenant-Id": "washington"}},
        {"token": make_token("alice", tenantId="washington", roles=["admin"])},
    ],
)
def test_query_headers_and_token_claims_do_not_change_the_tenant(
    served: Served, spoof: dict[str, Any]
) -> None:
    assert not listed_with(served, spoof) & WASHINGTON
    read = served.call("alice", "GET", "/parks/{parkId}", {"parkId": "deception-pass"}, **spoof)
    assert read.status == 404
    park_id = f"spoofed-{len(str(spoof))}"
    added = served.call("alice", "POST", "/parks", body={"id": park_id, "name": "S"}, **spoof)
    assert added.status == 201
    assert served.call("bob", "GET", "/parks/{parkId}", {"parkId": park_id}).status == 404


def listed_with(served: Served, spoof: dict[str, Any]) -> set[str]:
    response = served.call("alice", "GET", "/parks", **spoof)
    assert response.status == 200
    return ids(response.body)


# role -> expected status; "none" is dave, with no active tenant.
MATRIX = [
    ("GET", "/parks", {}, None, {"admin": 200, "member": 200, "visitor": 200, "none": 403}),
    (
        "POST",
        "/parks",
        {},
        {"id": "{role}-park", "name": "A park"},
        {"admin": 201, "member": 201, "visitor": 403, "none": 403},
    ),
    (
        "GET",
        "/parks/{parkId}",
        {"parkId": "enchanted-rock"},
        None,
        {"admin": 200, "member": 200, "visitor": 200, "none": 403},
    ),
    (
        "POST",
        "/parks/{parkId}/statuses",
        {"parkId": "enchanted-rock"},
        {"status": "park-closed"},
        {"admin": 204, "member": 403, "visitor": 403, "none": 403},
    ),
]


@pytest.mark.parametrize(("method", "resource", "params", "body", "expected"), MATRIX)
def test_direct_route_for_every_role(
    served: Served,
    method: str,
    resource: str,
    params: dict[str, str],
    body: Any,
    expected: dict[str, int],
) -> None:
    tenant, admin = served.new_tenant("matrix")
    from tenantkit.auth import UserDirectory

    directory = UserDirectory(served.table, client=served.client("dynamodb"))
    users = {"admin": admin, "none": "dave"}
    for role in ("member", "visitor"):
        user = f"{tenant}-{role}"
        directory.create_user(user)
        directory.provision_membership(tenant, user, [role])
        directory.set_active_tenant(user_id=user, tenant_id=tenant)
        users[role] = user
    assert served.call(admin, "POST", "/parks", body={"id": "enchanted-rock", "name": "E"})
    for role, user in users.items():
        sent = None if body is None else {k: v.format(role=role) for k, v in body.items()}
        response = served.call(user, method, resource, params, body=sent)
        assert response.status == expected[role], (role, response.body)
        if response.status >= 400:
            assert set(response.body) <= {"message", "Message"}


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    route=st.sampled_from(
        [
            ("GET", "/parks"),
            ("POST", "/parks"),
            ("GET", "/parks/{parkId}"),
            ("POST", "/parks/{parkId}/statuses"),
        ]
    ),
    raw=st.text(max_size=60)
    | st.dictionaries(
        st.sampled_from(["id", "name", "status", "tenantId", "parkId"]),
        st.none() | st.integers() | st.text(max_size=70),
        max_size=4,
    ).map(json.dumps),
    segment=st.text(min_size=1, max_size=70),
    limit=st.none() | st.text(max_size=5),
    cursor=st.none() | st.text(max_size=60),
)
def test_no_input_gets_a_server_error(
    served: Served,
    route: tuple[str, str],
    raw: str,
    segment: str,
    limit: str | None,
    cursor: str | None,
) -> None:
    method, resource = route
    query = {k: v for k, v in {"limit": limit, "cursor": cursor}.items() if v is not None}
    response = served.call(
        "alice",
        method,
        resource,
        {"parkId": segment} if "{parkId}" in resource else None,
        raw_body=raw if method == "POST" else None,
        query=query,
    )
    assert response.status in STATUSES, (response.status, response.body)
    if response.status >= 400:
        assert isinstance(response.body, dict)
        assert set(response.body) == {"message"}
