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

from tenantkit._shared.iam import wildcard_match as resource_matches
from tenantkit.auth.rolemap import ApiArn, RoleMap, Route
from tenantkit.errors import ConfigurationError, InvalidInputError
from tests._shared.model import (
    METHODS,
    MODELS,
    Request,
    arn_path,
    may_call,
    policy_allows,
    role_sets,
    split,
)

from .conftest import ROLE_MAP

ARN = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/GET/request"
PREFIX = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test"


def evaluate(policy: dict[str, Any], method_arn: str) -> bool:
    """API Gateway's evaluation, by the test's own IAM model (never tenantkit's matcher)."""
    return policy_allows(policy, method_arn)


def concrete_requests(role_map: RoleMap, key: str) -> list[str]:
    """Method ARN paths that API Gateway routes to ``key`` (checked with the test's model)."""
    method, segments = split(key)
    path = "/".join(
        "x1/x2" if s.endswith("+}") else "x1" if s.startswith("{") else s for s in segments
    )
    methods = METHODS if method == "ANY" else (method,)
    found = []
    for concrete in methods:
        request = (concrete, tuple(path.split("/")) if path else ())
        if MODELS["http"](role_map.routes, request) == key:
            found.append(f"{concrete}/{path}")
    assert found, key
    return found


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
    requests = {key: concrete_requests(role_map, key) for key in role_map.routes}
    for roles in all_role_sets(extra["roles"]):
        policy = role_map.policy(roles, ARN)
        allowed_by_policy = {
            key
            for key, paths in requests.items()
            if all(evaluate(policy, f"{PREFIX}/{path}") for path in paths)
        }
        refused_by_policy = {
            key
            for key, paths in requests.items()
            if not any(evaluate(policy, f"{PREFIX}/{path}") for path in paths)
        }
        assert allowed_by_policy == expected_routes(extra, roles), sorted(roles)
        assert refused_by_policy == set(requests) - allowed_by_policy
        assert allowed_by_policy == role_map.allowed_routes(roles)
        for key in requests:
            assert role_map.allows(roles, key) is (key in allowed_by_policy)


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
    assert f"{PREFIX}/POST/parks" not in both["Statement"][0]["Resource"]
    denies = [s for s in both["Statement"] if s["Effect"] == "Deny"]
    assert f"{PREFIX}/POST/parks" in denies[0]["Resource"]  # stated, for the reader
    assert not role_map.allows({"member", "visitor"}, "POST /parks")
    assert not role_map.invocation_allowed({"member", "visitor"}, f"{PREFIX}/POST/parks")


def test_deny_wins_where_another_roles_wildcard_reaches_the_route() -> None:
    """The member's ``GET/parks/*`` reaches ``/parks/{id}/audit``; the auditor's deny wins."""
    data = {
        "roles": ["member", "auditor"],
        "routes": {"GET /parks/{id}": ["member"], "GET /parks/{id}/audit": ["member"]},
        "deny": {"auditor": ["GET /parks/{id}/audit"]},
    }
    policy = RoleMap.from_dict(data).policy({"member", "auditor"}, ARN)
    assert evaluate(policy, f"{PREFIX}/GET/parks/p1")
    assert not evaluate(policy, f"{PREFIX}/GET/parks/p1/audit")
    assert policy["Statement"][1] == {
        "Action": "execute-api:Invoke",
        "Effect": "Deny",
        "Resource": [f"{PREFIX}/GET/parks/*/audit"],
    }


def test_a_deny_names_one_route_only() -> None:
    """Denying ``GET /x/{id}`` leaves ``GET /x/{id}/y``: API Gateway routes them apart.

    (Before the routing-aware compiler, a deny of a parameter route also denied the
    routes below it, because its ``*`` crossed ``/``.)
    """
    data = {
        "roles": ["a", "b"],
        "routes": {"GET /x/{id}": ["a"], "GET /x/{id}/y": ["a", "b"]},
        "deny": {"b": ["GET /x/{id}"]},
    }
    role_map = RoleMap.from_dict(data)
    assert role_map.allows({"b"}, "GET /x/{id}/y")
    assert not role_map.allows({"a", "b"}, "GET /x/{id}")
    policy = role_map.policy({"a", "b"}, ARN)
    assert evaluate(policy, f"{PREFIX}/GET/x/1/y")
    assert not evaluate(policy, f"{PREFIX}/GET/x/1")


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
    compiled: list[frozenset[str]] = []
    resources = role_map._resources
    role_map._resources = lambda held: compiled.append(held) or resources(held)  # type: ignore[method-assign]
    again = role_map.policy(["member", "admin"], f"{PREFIX}/POST/parks")
    assert again == first
    assert compiled == []  # served from the memo, not compiled again
    other_stage = role_map.policy({"admin", "member"}, ARN.replace("/test/", "/prod/"))
    assert other_stage != first


def test_a_returned_policy_is_the_callers_to_change(role_map: RoleMap) -> None:
    first = role_map.policy({"member"}, ARN)
    expected = json.loads(json.dumps(first))
    first["Statement"][0]["Resource"].append("arn:aws:execute-api:*")
    first["Statement"].append({"Effect": "Allow"})
    first["Version"] = "changed"
    assert role_map.policy({"member"}, ARN) == expected
    assert role_map.policy(frozenset({"member"}), f"{PREFIX}/POST/parks") == expected


def test_loading_keeps_no_load_time_memo(role_map: RoleMap) -> None:
    # The analysis memo is needed while the map loads only; it must not live on unbounded.
    unbounded = [name for name, value in vars(role_map).items() if name.startswith("_together")]
    assert unbounded == []


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
            "a '\\*' spans any number of segments",
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


# -- issue 16: gaps found by mutation testing ----------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "value", "matches"),
    [
        ("a/GET/x*", "a/GET/x", True),  # a star matches the empty string
        ("a/GET/*x", "a/GET/x", True),
        ("a/GET/x*y", "a/GET/xy", True),
        ("ab*ab", "ab", False),  # prefix and suffix may not overlap
        ("ab*ab", "abab", True),
        ("a*a*a", "aa", False),
        ("a*a*a", "aaa", True),
        ("a*ba*b", "abab", True),
        ("a*ba*b", "abb", False),
        ("x/*/x", "x//x", True),  # a parameter between two literals
        ("x/*/x", "x/x", False),
        ("x/*/x", "x/p/x", True),
        ("x/*/x", "x/p/q/x", True),
        ("x/*/x", "x/p/x/", False),
        ("GET/parks/*/statuses", "GET/parks/statuses", False),
        ("GET/parks/*/statuses", "GET/parks/p1/statuses/x", False),
        ("*", "", True),
        ("", "", True),
        ("", "x", False),
        ("x", "", False),
    ],
)
def test_resource_matching_boundaries(pattern: str, value: str, matches: bool) -> None:
    assert resource_matches(pattern, value) is matches


@pytest.mark.parametrize(
    "route",
    [
        "GET /*",
        "GET *",
        "GET */parks",
        "GET /parks/*",
        "GET /*/parks",
        "GET /parks*",
        "GET /p*rks",
        "GET x/parks",
        "GET parks",
        "GET //parks",
        "GET /parks//x",
        "GET ",
        "GET",
        "* /parks",
        "ANY* /parks",
        "GET /{id}*",
        "GET /{*}",
        "GET /{a+}/b",
        "GET /parks?x=1",
    ],
)
def test_route_parse_refuses_wildcards_and_malformed_paths(route: str) -> None:
    with pytest.raises(ConfigurationError):
        Route.parse(route)


@pytest.mark.parametrize(
    "change",
    [
        {"roles": "admin"},
        {"roles": [1]},
        {"roles": [["admin"]]},
        {"roles": [{"admin": 1}]},
        {"roles": None},
        {"routes": []},
        {"routes": None},
        {"routes": {"GET /parks": None}},
        {"routes": {"GET /parks": [1]}},
        {"routes": {"GET /parks": [["admin"]]}},
        {"routes": {"GET /parks": [{"admin": True}]}},
        {"routes": {"GET /parks": {"admin": True}}},
        {"deny": []},
        {"deny": "visitor"},
        {"deny": 0},
        {"deny": {"visitor": None}},
        {"deny": {"visitor": [1]}},
        {"deny": {"visitor": [["POST /parks"]]}},
        {"deny": {"visitor": {"POST /parks": True}}},
        {"authenticated": {}},
        {"authenticated": 0},
        {"authenticated": False},
        {"authenticated": "GET /settings"},
        {"authenticated": [None]},
        {"authenticated": [["GET /settings"]]},
    ],
)
def test_role_map_values_of_the_wrong_json_type_are_configuration_errors(
    change: dict[str, Any],
) -> None:
    with pytest.raises(ConfigurationError):
        RoleMap.from_dict({**ROLE_MAP, **change})


def test_method_arn_of_exactly_1600_bytes_is_accepted_and_1601_refused() -> None:
    head = f"{PREFIX}/GET/"
    exact = head + "x" * (1600 - len(head))
    assert len(exact.encode()) == 1600
    assert ApiArn.parse(exact).prefix == PREFIX
    with pytest.raises(ValueError, match="ARN"):
        ApiArn.parse(exact + "x")
    multibyte = head + "é" * ((1600 - len(head)) // 2)  # counted in bytes, not characters
    assert ApiArn.parse(multibyte).prefix == PREFIX
    with pytest.raises(ValueError, match="ARN"):
        ApiArn.parse(multibyte + "éx")
    with pytest.raises(ValueError, match="ARN"):
        ApiArn.parse(head + "\ud800")  # a lone surrogate is refused, not a crash


def test_policy_document_fields_are_exact() -> None:
    data = dict(ROLE_MAP, routes={**ROLE_MAP["routes"], "GET /parks/{parkId}/secrets": ["admin"]})
    policy = RoleMap.from_dict(data).policy({"visitor"}, ARN)
    assert policy["Version"] == "2012-10-17"
    assert [s["Effect"] for s in policy["Statement"]] == ["Allow", "Deny", "Deny"]
    assert all(s["Action"] == "execute-api:Invoke" for s in policy["Statement"])
    assert set(policy["Statement"][0]) == {"Action", "Effect", "Resource"}
    nobody = RoleMap.from_dict({"roles": ["a"], "routes": {"GET /x": ["a"]}})
    assert [s["Effect"] for s in nobody.policy(frozenset(), ARN)["Statement"]] == ["Deny"]


@pytest.mark.parametrize(
    ("roles", "arn", "allowed"),
    [
        ({"visitor"}, f"{PREFIX}/GET/parks", True),
        ({"visitor"}, f"{PREFIX}/GET/parks/p1", True),
        ({"visitor"}, f"{PREFIX}/POST/parks", False),  # denied by the role map
        ({"member"}, f"{PREFIX}/POST/parks", True),
        ({"member", "visitor"}, f"{PREFIX}/POST/parks", False),  # the deny wins
        ({"visitor"}, f"{PREFIX}/POST/parks/p1/statuses", False),
        ({"visitor"}, f"{PREFIX}/GET/parks-admin", False),
        ({"admin"}, f"{PREFIX}/GET/parks-admin", True),
        (set(), f"{PREFIX}/GET/settings", True),
        (set(), f"{PREFIX}/GET/parks", False),
        ({"unknown"}, f"{PREFIX}/GET/parks", False),
        ({"admin"}, f"{PREFIX}/GET/nowhere", False),
        ({"admin"}, "arn:aws:execute-api:us-east-1:123456789012:other/test/GET/parks", True),
    ],
)
def test_invocation_allowed(role_map: RoleMap, roles: set[str], arn: str, allowed: bool) -> None:
    assert role_map.invocation_allowed(roles, arn) is allowed
    assert role_map.invocation_allowed(roles, arn) is allowed  # memoised answer agrees


@pytest.mark.parametrize("arn", [None, 42, b"arn:aws:execute-api:us-east-1:123456789012:a/t/GET/"])
def test_an_arn_that_is_not_a_string_is_refused_not_crashed_on(role_map: RoleMap, arn: Any) -> None:
    # A direct invoke may carry anything as methodArn: the authorizer answers 401 on this
    # ValueError, and would fail with a 500 on any other error.
    with pytest.raises(ValueError, match="ARN"):
        ApiArn.parse(arn)
    with pytest.raises(ValueError, match="ARN"):
        role_map.policy({"admin"}, arn)


def test_the_constructor_takes_one_role_or_route_as_a_bare_string_and_no_deny() -> None:
    """A bare string names one role or route, never its letters; ``deny`` is optional."""
    role_map = RoleMap(
        roles=["admin", "visitor"],
        routes={"GET /parks": "visitor", "POST /parks": ("admin", "visitor")},
        deny={"admin": "GET /parks"},
    )
    assert role_map.allowed_routes({"visitor"}) == {"GET /parks", "POST /parks"}
    assert role_map.allowed_routes({"admin"}) == {"POST /parks"}
    assert role_map.deny == {"admin": frozenset({"GET /parks"})}
    plain = RoleMap(roles=["a"], routes={"GET /x": ["a"]})
    assert plain.deny == {}
    assert plain.allows({"a"}, "GET /x")


def model_agrees(data: dict[str, Any], requests: list[Request]) -> None:
    """Every role set's policy allows each request exactly when the model's routing and
    the declared intent say so (tests/_shared/model.py, not tenantkit)."""
    role_map = RoleMap.from_dict(data)
    keys = [*data["routes"], *data.get("authenticated", [])]
    for request in requests:
        targets = {MODELS[name](keys, request) for name in ("rest-backtracking", "http")}
        assert len(targets) == 1, targets
        [target] = targets
        assert target is not None, request
        for roles in role_sets(data["roles"]):
            arn = f"{PREFIX}/{arn_path(request)}"
            expected = may_call(data, roles, target)
            assert policy_allows(role_map.policy(roles, ARN), arn) is expected, (roles, request)
            assert role_map.invocation_allowed(roles, arn) is expected


def test_a_deny_its_own_pattern_cannot_state_comes_from_the_route_that_reaches_it() -> None:
    """The visitor's deny refuses ``GET /parks/{id}``, which the member's ``GET/*/*`` reaches.

    ``GET/parks/*`` also matches ``/parks/1/photos``, so it is not stated for the deny
    alone: the Deny must come from planning what ``GET /{kind}/{id}`` lets in, for a role
    set that holds a denying role. ``GET /a/{id}``, which ``GET/*/*`` also reaches with
    the same roles, needs no Deny: planning goes on past it.
    """
    data = {
        "roles": ["member", "visitor"],
        "routes": {
            "GET /{kind}/{id}": ["member"],
            "GET /a/{id}": ["member"],
            "GET /parks/{id}": ["member"],
            "GET /parks/{id}/photos": ["member"],
        },
        "deny": {"visitor": ["GET /parks/{id}", "GET /parks/{id}/photos"]},
    }
    requests: list[Request] = [
        ("GET", ("parks", "1")),
        ("GET", ("parks", "1", "photos")),
        ("GET", ("a", "1")),
        ("GET", ("x", "1")),
    ]
    model_agrees(data, requests)
    both = RoleMap.from_dict(data).policy({"member", "visitor"}, ARN)
    assert both["Statement"][1] == {
        "Action": "execute-api:Invoke",
        "Effect": "Deny",
        "Resource": [f"{PREFIX}/GET/parks/*", f"{PREFIX}/GET/parks/*/photos"],
    }


# ``GET /a/c``: REST keeps the literal ``a`` (the greedy route), HTTP the full match.
SPLIT = ("GET /a/{proxy+}", "GET /{x}/c")


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(
            {"roles": ["v"], "routes": {SPLIT[1]: ["v"]}, "deny": {"v": [SPLIT[1]]}}
            | {"authenticated": [SPLIT[0]]},
            id="open to every user on REST, to nobody on HTTP",
        ),
        pytest.param(
            {"roles": ["a", "b"], "routes": {SPLIT[0]: ["a", "b"], SPLIT[1]: ["a"]}}
            | {"deny": {"b": [SPLIT[0]]}},
            id="the same granting role, denied by another role on one side only",
        ),
    ],
)
def test_rest_and_http_routing_apart_to_other_permissions_is_refused(data: dict[str, Any]) -> None:
    keys = [*data["routes"], *data.get("authenticated", [])]
    assert MODELS["rest-backtracking"](keys, ("GET", ("a", "c"))) == SPLIT[0]
    assert MODELS["http"](keys, ("GET", ("a", "c"))) == SPLIT[1]
    assert any(
        may_call(data, r, SPLIT[0]) != may_call(data, r, SPLIT[1]) for r in role_sets(data["roles"])
    )
    with pytest.raises(ConfigurationError, match="on a REST API but"):
        RoleMap.from_dict(data)


def test_rest_and_http_routing_apart_to_two_routes_nobody_may_call_is_fine() -> None:
    data = {
        "roles": ["v", "w"],
        "routes": {SPLIT[0]: ["v"], SPLIT[1]: ["w"]},
        "deny": {"v": [SPLIT[0]], "w": [SPLIT[1]]},
    }
    assert not any(may_call(data, r, k) for r in role_sets(data["roles"]) for k in SPLIT)
    model_agrees(data, [("GET", ("a", "b", "c")), ("GET", ("b", "c"))])
    assert RoleMap.from_dict(data).allowed_routes({"v", "w"}) == frozenset()


@pytest.mark.parametrize("arn", ["not an arn", f"{PREFIX}/GET/\ud800", "x" * 1601])
def test_an_unusable_arn_is_a_typed_400(role_map: RoleMap, arn: str) -> None:
    with pytest.raises(InvalidInputError, match="ARN") as error:
        role_map.policy({"admin"}, arn)
    assert error.value.status_code == 400


def test_a_route_naming_a_parameter_twice_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="'id' twice"):
        RoleMap.from_dict({"roles": ["a"], "routes": {"GET /a/{id}/{id}": ["a"]}})
