"""RoleMap: loading rules, compiled policies, the route matrix, and deny-wins."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantkit.auth.rolemap import ApiArn, RoleMap, Route, resource_matches
from tenantkit.errors import ConfigurationError

from .conftest import ROLE_MAP

ARN = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/GET/request"
PREFIX = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test"


def evaluate(policy: dict[str, Any], method_arn: str) -> bool:
    """API Gateway's evaluation: an explicit Deny wins, else any Allow, else deny."""
    allowed = False
    for statement in policy["Statement"]:
        assert statement["Action"] == "execute-api:Invoke"
        if any(resource_matches(r, method_arn) for r in statement["Resource"]):
            if statement["Effect"] == "Deny":
                return False
            allowed = True
    return allowed


def expected_routes(data: dict[str, Any], roles: frozenset[str]) -> set[str]:
    """The intent of the role map, computed from the raw declaration."""
    granted = {route for route, needed in data["routes"].items() if roles & set(needed)}
    granted |= set(data.get("authenticated", []))
    for role in roles:
        granted -= set(data.get("deny", {}).get(role, []))
    return granted


def all_role_sets(roles: list[str]) -> list[frozenset[str]]:
    return [
        frozenset(combo)
        for size in range(len(roles) + 1)
        for combo in itertools.combinations(roles, size)
    ]


@pytest.mark.parametrize(
    ("pattern", "value", "matches"),
    [
        ("a/GET/parks", "a/GET/parks", True),
        ("a/GET/parks", "a/GET/parks-admin", False),
        ("a/GET/parks/*", "a/GET/parks/p1", True),
        ("a/GET/parks/*", "a/GET/parks/p1/statuses", True),  # * crosses /
        ("a/GET/parks/*/statuses", "a/GET/parks/p1/statuses", True),
        ("a/GET/parks/*/statuses", "a/GET/parks/p1/webhooks", False),
        ("a/*/parks", "a/DELETE/parks", True),
        ("a/*", "a/", True),
    ],
)
def test_resource_matching_follows_api_gateway(pattern: str, value: str, matches: bool) -> None:
    assert resource_matches(pattern, value) is matches


@settings(max_examples=300, deadline=None)
@given(
    pattern=st.lists(st.sampled_from(["a", "/", "b", "*", "ab", "-"]), max_size=8).map("".join),
    value=st.lists(st.sampled_from(["a", "/", "b", "ab", "-"]), max_size=8).map("".join),
)
def test_resource_matching_equals_glob_semantics(pattern: str, value: str) -> None:
    """``*`` matches any run of characters (``/`` included); everything else is literal."""
    reference = re.fullmatch(".*".join(re.escape(part) for part in pattern.split("*")), value)
    assert resource_matches(pattern, value) is (reference is not None)


def test_route_matrix_every_role_set_matches_exactly_its_routes() -> None:
    """Every compiled policy, evaluated against every route, allows exactly its routes."""
    extra = json.loads(json.dumps(ROLE_MAP))
    extra["routes"]["GET /parks/{parkId}/statuses"] = ["admin"]
    extra["routes"]["ANY /health"] = ["admin"]
    extra["routes"]["GET /"] = ["visitor"]
    extra["deny"]["member"] = ["POST /parks/{parkId}/webhooks"]
    role_map = RoleMap.from_dict(extra)
    routes = [Route.parse(key) for key in role_map.routes]
    for roles in all_role_sets(extra["roles"]):
        policy = role_map.policy(roles, ARN)
        allowed_by_policy = {
            route.key for route in routes if evaluate(policy, f"{PREFIX}/{route.sample()}")
        }
        assert allowed_by_policy == expected_routes(extra, roles), sorted(roles)
        assert allowed_by_policy == role_map.allowed_routes(roles)
        for route in routes:
            assert role_map.allows(roles, route.key) is (route.key in allowed_by_policy)


def test_parks_does_not_match_parks_admin(role_map: RoleMap) -> None:
    policy = role_map.policy({"member"}, ARN)
    assert evaluate(policy, f"{PREFIX}/GET/parks")
    assert not evaluate(policy, f"{PREFIX}/GET/parks-admin")
    assert evaluate(role_map.policy({"admin"}, ARN), f"{PREFIX}/GET/parks-admin")


def test_routes_under_a_wildcard_get_an_explicit_deny(role_map: RoleMap) -> None:
    policy = role_map.policy({"visitor"}, ARN)
    assert evaluate(policy, f"{PREFIX}/GET/parks/p1")
    assert not evaluate(policy, f"{PREFIX}/POST/parks/p1/statuses")
    data = dict(ROLE_MAP, routes={**ROLE_MAP["routes"], "GET /parks/{parkId}/secrets": ["admin"]})
    nested = RoleMap.from_dict(data).policy({"visitor"}, ARN)
    assert not evaluate(nested, f"{PREFIX}/GET/parks/p1/secrets")
    deny = [s for s in nested["Statement"] if s["Effect"] == "Deny"]
    assert deny[0]["Resource"] == [f"{PREFIX}/GET/parks/*/secrets", f"{PREFIX}/POST/parks"]


def test_path_parameters_are_the_only_wildcards(role_map: RoleMap) -> None:
    resources = role_map.policy({"admin"}, ARN)["Statement"][0]["Resource"]
    assert f"{PREFIX}/PUT/customers/*/roles" in resources
    assert f"{PREFIX}/GET/parks" in resources
    for resource in resources:
        path = resource[len(PREFIX) :]
        assert path.count("*") == path.count("/*")  # every * is a whole path segment


def test_deny_wins_over_another_roles_allow(role_map: RoleMap) -> None:
    """The reference merged allow lists, so a member+visitor could POST /parks."""
    member = role_map.policy({"member"}, ARN)
    both = role_map.policy({"member", "visitor"}, ARN)
    assert evaluate(member, f"{PREFIX}/POST/parks")
    assert not evaluate(both, f"{PREFIX}/POST/parks")
    denies = [s for s in both["Statement"] if s["Effect"] == "Deny"]
    assert f"{PREFIX}/POST/parks" in denies[0]["Resource"]
    assert not role_map.allows({"member", "visitor"}, "POST /parks")


def test_deny_of_a_parameter_route_covers_routes_below_it() -> None:
    data = {
        "roles": ["a", "b"],
        "routes": {"GET /x/{id}": ["a"], "GET /x/{id}/y": ["a", "b"]},
        "deny": {"b": ["GET /x/{id}"]},
    }
    role_map = RoleMap.from_dict(data)
    assert not role_map.allows({"b"}, "GET /x/{id}/y")
    assert not evaluate(role_map.policy({"a", "b"}, ARN), f"{PREFIX}/GET/x/1/y")


def test_no_roles_means_authenticated_routes_only(role_map: RoleMap) -> None:
    policy = role_map.policy(frozenset(), ARN)
    assert evaluate(policy, f"{PREFIX}/GET/settings")
    assert evaluate(policy, f"{PREFIX}/PUT/settings")
    assert not evaluate(policy, f"{PREFIX}/GET/parks")
    assert role_map.allowed_routes(["unknown-role"]) == role_map.authenticated


def test_empty_policy_denies_everything() -> None:
    role_map = RoleMap.from_dict({"roles": ["a"], "routes": {"GET /x": ["a"]}})
    policy = role_map.policy(frozenset(), ARN)
    assert policy["Statement"] == [
        {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": [f"{PREFIX}/*"]}
    ]


def test_policy_is_compiled_from_the_arn(role_map: RoleMap) -> None:
    arn = "arn:aws-us-gov:execute-api:us-gov-west-1:210987654321:zyx987/prod/POST/parks"
    policy = role_map.policy({"admin"}, arn)
    for resource in policy["Statement"][0]["Resource"]:
        assert resource.startswith(
            "arn:aws-us-gov:execute-api:us-gov-west-1:210987654321:zyx987/prod/"
        )
    v2 = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/$default/GET/parks"
    assert role_map.policy({"admin"}, v2)["Statement"][0]["Resource"][0].startswith(
        "arn:aws:execute-api:us-east-1:123456789012:abcdef123/$default/"
    )


def test_policies_are_memoised_per_role_set_and_prefix(role_map: RoleMap) -> None:
    first = role_map.policy({"admin", "member"}, ARN)
    again = role_map.policy(["member", "admin"], f"{PREFIX}/POST/parks")
    assert again is first
    other_stage = role_map.policy({"admin", "member"}, ARN.replace("/test/", "/prod/"))
    assert other_stage is not first


@pytest.mark.parametrize(
    "arn",
    [
        "",
        "arn:aws:lambda:us-east-1:123456789012:function:x",
        "arn:aws:execute-api:us-east-1:12345:abc/test/GET/x",
        "arn:aws:execute-api:us-east-1:123456789012:abc",
        "arn:aws:execute-api:us-east-1:123456789012:abc/te st/GET/",
        "arn:aws:execute-api:us-east-1:123456789012:abc/test/GET/" + "x" * 1600,
    ],
)
def test_bad_arns_are_refused(role_map: RoleMap, arn: str) -> None:
    with pytest.raises(ValueError, match="ARN"):
        role_map.policy({"admin"}, arn)
    with pytest.raises(ValueError, match="ARN"):
        ApiArn.parse(arn)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"routes": {"GET /parks": ["owner"]}}, "unknown roles"),
        ({"deny": {"owner": ["GET /parks"]}}, "unknown roles"),
        ({"deny": {"member": ["GET /nowhere"]}}, "not a declared route"),
        ({"routes": {"get /parks": ["admin"]}}, "METHOD /path"),
        ({"routes": {"GET parks": ["admin"]}}, "malformed path"),
        ({"routes": {"GET /parks/*": ["admin"]}}, "malformed path"),
        ({"routes": {"GET /parks/": ["admin"]}}, "malformed path"),
        ({"routes": {"GET  /parks": ["admin"]}}, "malformed path"),
        ({"routes": {"GET /a/{p+}/b": ["admin"]}}, "greedy"),
        ({"routes": {"GET /parks/{a}": ["admin"], "GET /parks/{b}": ["admin"]}}, "same route"),
        ({"routes": {"GET /parks": []}}, "no roles"),
        ({"routes": {"GET /parks": "admin"}}, "list of roles"),
        ({"authenticated": "GET /settings"}, "list of routes"),
        ({"deny": {"member": "POST /parks"}}, "list of routes"),
        ({"roles": ["bad role"]}, "must match"),
        ({"extra": 1}, "unknown role map keys"),
        (
            {
                "routes": {
                    "GET /a/{x}": ["admin"],
                    "GET /a/{x}/b": ["member"],
                    "GET /a/{x}/{y}/b": ["admin"],
                }
            },
            "cannot separate",
        ),
    ],
)
def test_malformed_role_maps_fail_at_load_time(change: dict[str, Any], message: str) -> None:
    data = {**ROLE_MAP, "deny": {}, "authenticated": [], **change}
    with pytest.raises(ConfigurationError, match=message):
        RoleMap.from_dict(data)


def test_from_file(tmp_path: Path) -> None:
    path = tmp_path / "rolemap.json"
    path.write_text(json.dumps(ROLE_MAP))
    assert RoleMap.from_file(path).roles == frozenset(ROLE_MAP["roles"])
    path.write_text("{not json")
    with pytest.raises(ConfigurationError, match="cannot read"):
        RoleMap.from_file(path)
    with pytest.raises(ConfigurationError, match="cannot read"):
        RoleMap.from_file(tmp_path / "missing.json")


_SEGMENTS = ["parks", "parks-admin", "{id}", "statuses", "p"]


@st.composite
def role_maps(draw: st.DrawFn) -> dict[str, Any]:
    roles = ["r1", "r2", "r3"]
    paths = draw(
        st.lists(
            st.lists(st.sampled_from(_SEGMENTS), min_size=1, max_size=3).map(
                lambda parts: "/" + "/".join(parts)
            ),
            min_size=1,
            max_size=6,
            unique=True,
        )
    )
    methods = st.sampled_from(["GET", "POST", "ANY"])
    keys = sorted({f"{draw(methods)} {path}" for path in paths})
    routes = {key: draw(st.lists(st.sampled_from(roles), min_size=1, unique=True)) for key in keys}
    deny = {role: draw(st.lists(st.sampled_from(keys), unique=True)) for role in roles}
    authenticated = draw(st.lists(st.sampled_from(keys), max_size=1))
    for key in authenticated:
        routes.pop(key)
    deny = {role: [k for k in listed if k not in authenticated] for role, listed in deny.items()}
    return {"roles": roles, "routes": routes, "deny": deny, "authenticated": authenticated}


@settings(max_examples=60, deadline=None)
@given(data=role_maps())
def test_route_matrix_holds_for_generated_role_maps(data: dict[str, Any]) -> None:
    try:
        role_map = RoleMap.from_dict(data)
    except ConfigurationError:
        return  # duplicate or inseparable routes are refused at load time, by design
    routes = [Route.parse(key) for key in role_map.routes]
    for roles in all_role_sets(data["roles"]):
        policy = role_map.policy(roles, ARN)
        by_policy = {r.key for r in routes if evaluate(policy, f"{PREFIX}/{r.sample()}")}
        assert by_policy == role_map.allowed_routes(roles)
        naive = expected_routes(data, roles)
        assert by_policy <= naive  # never more than declared
        denied_patterns = [
            Route.parse(key).resource for role in roles for key in data["deny"].get(role, [])
        ]
        for key in naive - by_policy:  # anything less is under a deny of a held role
            sample = Route.parse(key).sample()
            assert any(resource_matches(p, sample) for p in denied_patterns)
