"""Attacks on every direct route of the state-parks example, over HTTP against the example
as ``tenantkit local`` serves it (the ``served`` fixture): hostile body fields, path
segments, query values and cursors; a tenant named by the caller; keys at their length
limit and past it; another tenant's park ids.

Two fresh tenants face each other (``hostile.Arena``). Every request the attacker sends
must answer below 500, with no canary of another tenant (a park name only the victim or
the seed's tenants hold). After every test, every item the attacker does not own (other
tenants', the control plane) is exactly what it was in the table, the victim's parks read
back the same through the API, and the attacker's own items carry only its own tenant in
their keys and only the declared attributes. GET routes take no body: their hostile
input goes in the path, the query and headers.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.examples.conftest import Served, direct_routes, make_token
from tests.examples.hostile import (
    ALPHABET,
    CONTENT_TYPES,
    FRAGMENTS,
    HOSTILE,
    HOSTILE_LIMITS,
    Arena,
    at_path,
    has_lone_surrogate,
    with_query,
)

LIST, ADD, READ, STATUS = (
    ("GET", "/parks"),
    ("POST", "/parks"),
    ("GET", "/parks/{parkId}"),
    ("POST", "/parks/{parkId}/statuses"),
)
ATTACKED_ROUTES = {LIST, ADD, READ, STATUS}
NOT_FOUND = {400, 404}  # a path segment no park has (400: an encoded / or \, decision 15)
fresh_ids = (f"hyp-{n}" for n in itertools.count())
modest = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
hostile_text = st.text(alphabet=ALPHABET, min_size=1, max_size=40) | st.lists(
    st.sampled_from(FRAGMENTS + HOSTILE), min_size=1, max_size=3
).map("".join)


@pytest.fixture(scope="module")
def arena(served: Served) -> Arena:
    return Arena(served)


@pytest.fixture(autouse=True)
def contained(arena: Arena) -> Iterator[None]:
    """Whatever a test tried, nobody else's data changed and the victim's reads back."""
    before = arena.others(arena.items())
    yield
    items = arena.items()
    assert arena.others(items) == before
    arena.assert_victim_intact(items)
    arena.stored_parks(arena.attacker, items)  # checks the attacker's own items' keys


def test_every_direct_route_is_attacked() -> None:
    """A route added to api.yaml fails here until this module attacks it too."""
    assert set(direct_routes()) == ATTACKED_ROUTES


def test_attack_a_hostile_park_name_stays_one_value_in_the_callers_tenant(arena: Arena) -> None:
    values = [*HOSTILE, *arena.targeted()]
    expected = {}
    for n, value in enumerate(values):
        park_id = f"name-{n}"
        body = {"id": park_id, "name": value, "status": "park-reopened"}
        created = arena.attack(*ADD, body=body)
        if has_lone_surrogate(value):  # text UTF-8, so DynamoDB, cannot carry
            assert created.status == 400, (value, created.body)
            continue
        assert (created.status, created.body) == (201, {"id": park_id}), value
        expected[park_id] = body
        assert arena.attack(*READ, {"parkId": park_id}).body == expected[park_id]
    stored = arena.stored_parks(arena.attacker)
    listed = arena.listed(arena.attacker)
    for n in range(len(values)):
        assert stored.get(f"name-{n}") == expected.get(f"name-{n}")
        assert listed.get(f"name-{n}") == expected.get(f"name-{n}")


def test_attack_a_hostile_value_in_any_other_body_field_is_a_400(arena: Arena) -> None:
    """``id`` and ``status`` are pattern- and enum-checked; an undeclared field (a key
    attribute, the tenant, the hostile text as a field name) is refused whole."""
    before = arena.stored_parks(arena.attacker)
    own = {"parkId": "shared-id"}
    for value in HOSTILE:
        for field in ["id", "status", "pk", "sk", "GSI1PK", "tkshard", "tenantId", value]:
            body = {"id": "would-be-new", "name": "N", "status": "park-closed"} | {field: value}
            assert arena.attack(*ADD, body=body).status == 400, (field, value)
        for field in ["status", "parkId", "pk", "tenantId", value]:
            body = {"status": "park-closed"} | {field: value}
            assert arena.attack(*STATUS, own, body=body).status == 400, (field, value)
    assert arena.stored_parks(arena.attacker) == before


def test_attack_a_hostile_path_segment_reaches_no_park(arena: Arena) -> None:
    """After a real park id, or aimed at the victim's: request validators cannot
    pattern-check path parameters, so the templates' escaping is all that stands here
    (the hypothesis test below sends hostile segments alone)."""
    before = arena.stored_parks(arena.attacker)
    # Both tenants have a park "shared-id"; the targeted values start with "victim-only".
    for segment in [*(f"shared-id{value}" for value in HOSTILE), *arena.targeted()]:
        read = arena.attack("GET", at_path(READ[1], segment))
        assert read.status in NOT_FOUND, (segment, read.body)
        status = {"status": "park-closed"}
        change = arena.attack("POST", at_path(STATUS[1], segment), body=status)
        assert change.status in NOT_FOUND, (segment, change.body)
    assert arena.stored_parks(arena.attacker) == before


def test_attack_a_hostile_query_value_or_name_on_the_list(arena: Arena) -> None:
    own = arena.stored_parks(arena.attacker)
    for value in [*HOSTILE, *arena.targeted()]:
        limit = arena.attack("GET", with_query(LIST[1], limit=value))
        assert limit.status == 400, (value, limit.body)
        cursor = arena.attack("GET", with_query(LIST[1], cursor=value))
        if cursor.status == 200:
            arena.assert_only_own_parks(cursor, own)
        query = {value: "1", "tenantId": arena.victim.id}
        arena.assert_only_own_parks(arena.attack("GET", with_query(LIST[1], **query)), own)


SPOOFS: dict[str, Callable[[Arena], dict[str, Any]]] = {
    "query": lambda arena: {"query": {"tenantId": arena.victim.id}},
    "X-Amz-Tenant-Id": lambda arena: {"headers": {"X-Amz-Tenant-Id": arena.victim.id}},
    "tenantId header": lambda arena: {"headers": {"tenantId": arena.victim.id}},
    "token claims": lambda arena: {
        "token": make_token(arena.attacker.admin, tenantId=arena.victim.id, roles=["admin"])
    },
    "all at once": lambda arena: {
        "query": {"tenantId": arena.victim.id, "tenant": arena.victim.id},
        "headers": {"X-Amz-Tenant-Id": arena.victim.id, "tenantId": arena.victim.id},
    },
}


@pytest.mark.parametrize("spoof", sorted(SPOOFS))
def test_attack_a_tenant_named_by_the_caller_changes_nothing(arena: Arena, spoof: str) -> None:
    sent = SPOOFS[spoof](arena)
    victim = arena.victim.id
    arena.assert_only_own_parks(arena.attack(*LIST, **sent))
    assert arena.attack(*READ, {"parkId": "victim-only"}, **sent).status == 404
    own = arena.attack(*READ, {"parkId": "shared-id"}, **sent)
    assert own.body == arena.stored_parks(arena.attacker)["shared-id"]

    park_id = f"spoof-{sorted(SPOOFS).index(spoof)}"
    created = arena.attack(*ADD, body={"id": park_id, "name": "S"}, **sent)
    assert created.status == 201, created.body
    assert park_id in arena.stored_parks(arena.attacker)
    in_body = {"id": f"{park_id}-b", "name": "S", "tenantId": victim}
    assert arena.attack(*ADD, body=in_body, **sent).status == 400

    status = {"status": "natural-disaster"}
    assert arena.attack(*STATUS, {"parkId": "victim-only"}, body=status, **sent).status == 404
    changed = arena.attack(*STATUS, {"parkId": park_id}, body=status, **sent)
    assert changed.status == 204, changed.body
    assert arena.stored_parks(arena.attacker)[park_id]["status"] == "natural-disaster"
    spoofed_body = status | {"tenantId": victim}
    assert arena.attack(*STATUS, {"parkId": park_id}, body=spoofed_body, **sent).status == 400


def test_attack_hostile_tenant_headers_change_nothing(arena: Arena) -> None:
    """The hostile strings an HTTP header can carry (Latin-1, no control characters), as
    the tenant headers an integration could be mapped from, on every direct route."""
    own = arena.stored_parks(arena.attacker)
    victim = arena.victim.id
    values = [victim, f"{victim}#park", *arena.targeted()[:4], *HOSTILE[:2], HOSTILE[9]]
    sendable = [
        v
        for v in values
        if v.isprintable() and v == v.encode("latin-1", "ignore").decode("latin-1")
    ]
    for value in sendable:
        headers = {"X-Amz-Tenant-Id": value, "tenantId": value, "X-Tenant-Id": value}
        arena.assert_only_own_parks(arena.attack(*LIST, headers=headers), own)
        assert arena.attack(*READ, {"parkId": "victim-only"}, headers=headers).status == 404
        status = {"status": "park-closed"}
        change = arena.attack(*STATUS, {"parkId": "victim-only"}, body=status, headers=headers)
        assert change.status == 404, value
        taken = arena.attack(*ADD, body={"id": "shared-id", "name": "again"}, headers=headers)
        assert taken.status == 409, value  # the attacker's own shared-id, not the victim's
    assert arena.stored_parks(arena.attacker) == own


def test_keys_at_their_limit_belong_to_their_tenant_and_past_it_are_refused(
    arena: Arena,
) -> None:
    """The model's longest id, in both tenants: two parks. One character more is the
    validator's 400 in a body; in a path (which validators cannot check) no park has it.
    Past DynamoDB's 2048-byte partition key the key is refused, never a 5xx."""
    longest = "v" * 64  # the victim has a park with this id too
    mine = {"id": longest, "name": "attacker's longest", "status": "park-opened"}
    created = arena.attack(*ADD, body=mine)
    assert created.status == 201, created.body
    read = arena.attack(*READ, {"parkId": longest})
    assert read.body == mine
    changed = arena.attack(*STATUS, {"parkId": longest}, body={"status": "park-closed"})
    assert changed.status == 204, changed.body
    assert arena.stored_parks(arena.attacker)[longest]["status"] == "park-closed"

    for body in [
        {"id": "v" * 65, "name": "one too long"},
        {"id": "x", "name": "n" * 201},
        {"id": "x", "name": "\U0001f3de" * 201},
    ]:
        assert arena.attack(*ADD, body=body).status == 400, body

    for segment in ["v" * 65, "v" * 1024]:
        assert arena.attack("GET", at_path(READ[1], segment)).status in NOT_FOUND
        change = arena.attack("POST", at_path(STATUS[1], segment), body={"status": "park-closed"})
        assert change.status in NOT_FOUND, change.body
    # Past the partition key's 2048 bytes any 4xx will do (the example's authorizer answers
    # 401 for a method ARN this long); attack() has already refused a 5xx or a leak.
    for segment in ["v" * 2048, "\u00e9" * 1100, "\U0001f3de" * 600]:
        arena.attack("GET", at_path(READ[1], segment))
        arena.attack("POST", at_path(STATUS[1], segment), body={"status": "park-closed"})


def test_the_longest_name_of_the_widest_characters_is_stored_whole(arena: Arena) -> None:
    """200 characters of 4 UTF-8 bytes each (800 bytes), with the longest id."""
    widest = "\U0001f3de" * 200
    created = arena.attack(*ADD, body={"id": "w" * 64, "name": widest})
    assert created.status == 201, created.body
    assert arena.attack(*READ, {"parkId": "w" * 64}).body["name"] == widest


def test_attack_another_tenants_park_id(arena: Arena) -> None:
    """Read it, change its status, then create the same id: the attacker only ever
    addresses a park of its own, and the victim keeps its park (checked after the test)."""
    for park_id in ["victim-only", "claimable"]:
        assert arena.attack(*READ, {"parkId": park_id}).status == 404
        change = arena.attack(*STATUS, {"parkId": park_id}, body={"status": "park-closed"})
        assert change.status == 404
    created = arena.attack(*ADD, body={"id": "claimable", "name": "the attacker's claimable"})
    assert created.status == 201, created.body
    again = arena.attack(*ADD, body={"id": "claimable", "name": "twice"})
    assert again.status == 409
    change = arena.attack(*STATUS, {"parkId": "claimable"}, body={"status": "park-closed"})
    assert change.status == 204, change.body
    mine = {"id": "claimable", "name": "the attacker's claimable", "status": "park-closed"}
    assert arena.attack(*READ, {"parkId": "claimable"}).body == mine
    assert arena.listed(arena.attacker)["claimable"] == mine
    own_shared = arena.attack(*READ, {"parkId": "shared-id"}).body
    assert own_shared["name"] == "attacker's own shared-id"


def test_attack_a_body_of_another_content_type_lands_in_the_callers_tenant_or_is_a_4xx(
    arena: Arena,
) -> None:
    """A content type with no mapping template must not reach the service unmapped (the
    integrations pass nothing through); one that selects the JSON template is a JSON body."""
    victim = arena.victim.id
    for n, content_type in enumerate(CONTENT_TYPES):
        park_id = f"typed-{n}"
        raw = {"id": park_id, "name": HOSTILE[11], "pk": {"S": f"{victim}#park#{park_id}"}}
        for body in [raw, {"id": park_id, "name": HOSTILE[11]}]:
            for data in [json.dumps(body).encode(), json.dumps(body).encode("utf-16")]:
                answer = arena.attack_raw("POST", ADD[1], data, content_type)
                assert answer.status in {201, 400, 409, 415}, (content_type, answer.body)
        change = arena.attack_raw(
            "POST", "/parks/shared-id/statuses", b'{"status": "park-closed"}', content_type
        )
        assert change.status in {204, 400, 415}, (content_type, change.body)
    created = {k: v for k, v in arena.stored_parks(arena.attacker).items() if "typed-" in k}
    assert created  # a JSON type got through, and as the declared fields only:
    assert {park["name"] for park in created.values()} == {HOSTILE[11]}


def test_attack_hostile_cursors_list_only_the_callers_parks(arena: Arena) -> None:
    own = arena.stored_parks(arena.attacker)
    cursors = arena.hostile_cursors()
    for cursor in cursors:
        for limit in [None, "1"]:
            page = arena.attack("GET", with_query(LIST[1], cursor=cursor, limit=limit))
            if page.status == 200:
                arena.assert_only_own_parks(page, own)
    # Followed to the end, pages started from the victim's cursor stay the attacker's.
    cursor = cursors[0]
    while cursor:
        page = arena.attack(*LIST, query={"cursor": cursor, "limit": "3"})
        arena.assert_only_own_parks(page, own)
        cursor = page.body["cursor"]


def test_attack_a_hostile_limit_is_a_400(arena: Arena) -> None:
    for query in HOSTILE_LIMITS:
        response = arena.attack("GET", f"{LIST[1]}?{query}")
        assert (response.status, response.body) == (400, {"message": "Bad Request"}), query


def test_a_repeated_query_parameter_lists_only_the_callers_parks_or_is_a_4xx(
    arena: Arena,
) -> None:
    own = arena.stored_parks(arena.attacker)
    for query in ["limit=1&limit=100000", "limit=100000&limit=1", "cursor=a&cursor=b~sc~sd"]:
        page = arena.attack("GET", f"{LIST[1]}?{query}")
        if page.status == 200:
            arena.assert_only_own_parks(page, own)


@modest
@given(name=hostile_text)
def test_any_hostile_name_round_trips_or_is_refused(arena: Arena, name: str) -> None:
    park_id = next(fresh_ids)
    body = {"id": park_id, "name": name, "status": "natural-disaster"}
    created = arena.attack(*ADD, body=body)
    if has_lone_surrogate(name):
        assert created.status == 400, created.body
        return
    assert created.status == 201, created.body
    assert arena.attack(*READ, {"parkId": park_id}).body == body


@modest
@given(segment=hostile_text, resource=st.sampled_from([READ[1], STATUS[1]]))
def test_any_hostile_path_segment_reaches_no_park(
    arena: Arena, segment: str, resource: str
) -> None:
    assume(not re.fullmatch("[a-z0-9-]+", segment))  # a plain id is no attack
    method = "GET" if resource == READ[1] else "POST"
    body = {"status": "park-closed"} if method == "POST" else None
    response = arena.attack(method, at_path(resource, segment), body=body)
    assert response.status in NOT_FOUND, (segment, response.body)


@modest
@given(
    parts=st.lists(
        hostile_text
        | st.sampled_from(["{victim}#park#victim-only", "{victim}#park", "victim-only", "park"]),
        min_size=1,
        max_size=4,
    ),
    limit=st.sampled_from([None, "1", "100"]),
)
def test_any_hostile_cursor_lists_only_the_callers_parks_or_is_a_4xx(
    arena: Arena, parts: list[str], limit: str | None
) -> None:
    cursor = "~s".join(part.replace("{victim}", arena.victim.id) for part in parts)
    page = arena.attack("GET", with_query(LIST[1], cursor=cursor, limit=limit))
    if page.status == 200:
        arena.assert_only_own_parks(page)
