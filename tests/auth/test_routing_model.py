"""Compiled policies agree with API Gateway's routing (security round, item 1).

The invariant: for every concrete request that API Gateway routes to a declared route R,
the compiled policy, evaluated with IAM's wildcard rules, allows it exactly when the
caller's roles may call R; ``allows()`` and ``invocation_allowed()`` say the same. The
oracles (routing models, IAM evaluator, the role map's intent) live in
``tests/_shared/model.py`` and share no code with tenantkit.
"""

from __future__ import annotations

import ast
import re
from typing import Any

import pytest
from hypothesis import event, given, note, settings
from hypothesis import strategies as st

from tenantkit.auth.rolemap import RoleMap
from tenantkit.errors import ConfigurationError
from tests._shared import model
from tests._shared.model import (
    DEFAULT,
    METHODS,
    MODELS,
    Request,
    arn_path,
    in_model,
    may_call,
    policy_allows,
    role_sets,
    split,
)
from tests._shared.strategies import (
    FRESH,
    LITERALS,
    REQUEST_METHODS,
    out_of_model_paths,
    paths,
    route_keys,
)

PREFIX = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test"
ARN = f"{PREFIX}/GET/"


def routed_everywhere(data: dict[str, Any], request: Request) -> str:
    """The one route that every routing model that routes ``request`` sends it to."""
    keys = list(data["routes"]) + list(data.get("authenticated", []))
    routes = {model(keys, request) for model in MODELS.values()} - {None}
    assert len(routes) == 1, routes
    return routes.pop()  # type: ignore[return-value]


def policy_verdict(role_map: RoleMap, roles: set[str], request: Request) -> bool:
    allowed = policy_allows(role_map.policy(roles, ARN), f"{PREFIX}/{arn_path(request)}")
    assert role_map.invocation_allowed(roles, f"{PREFIX}/{arn_path(request)}") is allowed
    return allowed


ATTACKS = [
    pytest.param(
        {"GET /{section}/summary": ["member", "admin"], "GET /admin/{reportId}": ["admin"]},
        ("GET", ("admin", "summary")),
        id="literal segment beats the allowed route's parameter",
    ),
    pytest.param(
        {"GET /parks/{id}": ["member", "admin"], "GET /parks/admin": ["admin"]},
        ("GET", ("parks", "admin")),
        id="a literal route under an allowed parameter route",
    ),
    pytest.param(
        {"POST /a/{id}": ["member", "admin"], "ANY /a/{id}/b": ["admin"]},
        ("POST", ("a", "1", "b")),
        id="ANY route reached with a method other than GET",
    ),
    pytest.param(
        {"GET /a/{x}": ["member", "admin"], "ANY /{proxy+}": ["admin"]},
        ("GET", ("a", "1", "2")),
        id="greedy catch-all below an allowed parameter route",
    ),
    pytest.param(
        {"GET /{x}/b/{y}": ["member", "admin"], "GET /{proxy+}": ["admin"]},
        ("GET", ("u", "v", "b", "w")),
        id="greedy route under an allowed route's two wildcards",
    ),
    pytest.param(
        {"GET /{id}": ["member", "admin"], "GET /": ["admin"]},
        ("GET", ()),
        id="root under GET/* (IAM's * also matches nothing)",
    ),
]


@pytest.mark.parametrize(("routes", "request_"), ATTACKS)
def test_attack_forbidden_route_reached_through_an_allowed_wildcard(
    routes: dict[str, list[str]], request_: Request
) -> None:
    data = {"roles": ["admin", "member"], "routes": routes}
    target = routed_everywhere(data, request_)
    assert not may_call(data, {"member"}, target)
    role_map = RoleMap.from_dict(data)
    assert not policy_verdict(role_map, {"member"}, request_)
    assert policy_verdict(role_map, {"admin"}, request_)
    assert role_map.allows({"admin"}, target)
    assert not role_map.allows({"member"}, target)


def test_attack_greedy_route_between_parameter_routes() -> None:
    """``GET /a/1/2/b`` reaches the admin's greedy route; a member may call ``/a/{x}/b``.

    Before, the member's ``GET/a/*/b`` let the request in. ``GET/a/*/*/b`` refuses it
    and still lets ``GET/a/1/b`` through: each ``*`` spans at least one segment.
    """
    data = {
        "roles": ["admin", "member"],
        "routes": {"GET /a/{x}/b": ["member", "admin"], "GET /a/{proxy+}": ["admin"]},
    }
    role_map = RoleMap.from_dict(data)
    attack: Request = ("GET", ("a", "1", "2", "b"))
    assert routed_everywhere(data, attack) == "GET /a/{proxy+}"
    assert not policy_verdict(role_map, {"member"}, attack)
    assert policy_verdict(role_map, {"member"}, ("GET", ("a", "1", "b")))
    assert role_map.policy({"member"}, ARN)["Statement"][1]["Resource"] == [f"{PREFIX}/GET/a/*/*/b"]


def test_one_refused_route_may_need_several_deny_patterns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``GET/*/b/*`` reaches the greedy route in two ways; each gets its own Deny."""
    data = {
        "roles": ["admin", "member"],
        "routes": {"GET /{x}/b/{y}": ["member", "admin"], "GET /{proxy+}": ["admin"]},
    }
    policy = RoleMap.from_dict(data).policy({"member"}, ARN)
    assert policy["Statement"][1]["Resource"] == [
        f"{PREFIX}/GET/*/*/b/*",
        f"{PREFIX}/GET/*/b/*/*",
    ]
    monkeypatch.setattr("tenantkit._shared.apigw.MAX_PATTERNS", 1)
    with pytest.raises(ConfigurationError, match="more ways than 1 Deny patterns"):
        RoleMap.from_dict(data)


def test_rest_and_http_routing_apart_with_other_roles_is_refused() -> None:
    """``GET /a/c``: REST keeps the literal ``a`` (greedy route), HTTP the full match."""
    data = {
        "roles": ["admin", "member"],
        "routes": {"GET /a/{proxy+}": ["admin"], "GET /{x}/c": ["member", "admin"]},
    }
    assert MODELS["rest-backtracking"](data["routes"], ("GET", ("a", "c"))) == "GET /a/{proxy+}"
    assert MODELS["http"](data["routes"], ("GET", ("a", "c"))) == "GET /{x}/c"
    refusal = r"request 'GET /a/c' reaches 'GET /a/\{proxy\+\}'"
    with pytest.raises(ConfigurationError, match=refusal):
        RoleMap.from_dict(data)
    data["routes"]["GET /a/{proxy+}"] = ["member", "admin"]  # same roles: one policy fits
    assert RoleMap.from_dict(data).allows({"member"}, "GET /a/{proxy+}")


def test_a_stated_deny_never_refuses_the_root() -> None:
    """IAM's ``GET/*`` also matches ``GET/``, so a denied ``/{proxy+}`` gets no Deny."""
    data = {
        "roles": ["r"],
        "routes": {},
        "deny": {"r": ["GET /{g+}"]},
        "authenticated": ["GET /", "GET /{g+}"],
    }
    role_map = RoleMap.from_dict(data)
    assert policy_verdict(role_map, {"r"}, ("GET", ()))
    assert not policy_verdict(role_map, {"r"}, ("GET", ("a",)))
    assert policy_verdict(role_map, set(), ("GET", ("a",)))


def test_an_any_route_that_no_method_reaches_is_refused() -> None:
    routes = {f"{m} /x": ["admin"] for m in METHODS} | {"ANY /x": ["admin"]}
    with pytest.raises(ConfigurationError, match="'ANY /x' receives no method"):
        RoleMap.from_dict({"roles": ["admin"], "routes": routes})


def test_inseparable_routes_are_refused_at_load_time() -> None:
    """Any Deny for ``GET /a/1/b`` also refuses ``GET /a/1/2/b``: no policy can be right."""
    data = {
        "roles": ["admin", "member"],
        "routes": {
            "GET /a/{x}": ["member", "admin"],
            "GET /a/{x}/b": ["admin"],
            "GET /a/{x}/{y}/b": ["member", "admin"],
        },
    }
    with pytest.raises(ConfigurationError) as refused:
        RoleMap.from_dict(data)
    message = str(refused.value)
    for named in ("GET /a/{x}", "GET /a/{x}/b", "GET /a/{x}/{y}/b", "['member']"):
        assert named in message
    assert "'GET /a/<any>/b'" in message
    assert "'GET /a/<any>/<any>/b'" in message


def test_attack_policy_never_carries_a_wildcard_method() -> None:
    """``ANY`` compiled to ``*`` matched every method and, in ``*/x``, crossed ``/``."""
    data = {
        "roles": ["admin", "member"],
        "routes": {"ANY /reports": ["member", "admin"], "GET /reports/{id}": ["admin"]},
    }
    role_map = RoleMap.from_dict(data)
    outside = [f"{PREFIX}/*/*/", f"{PREFIX}/*//*"]  # a trailing "/" or "//": any method
    for roles in ({"member"}, {"admin"}, {"admin", "member"}):
        *routes, last = role_map.policy(roles, ARN)["Statement"]
        assert last == {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": outside}
        for statement in routes:
            for resource in statement["Resource"]:
                method = resource[len(PREFIX) + 1 :].split("/")[0]
                assert method in {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}
    assert not policy_verdict(role_map, {"member"}, ("GET", ("x", "reports")))


# -- the invariant, over random role maps -------------------------------------------------

ROLES = ["r1", "r2", "r3"]


@st.composite
def role_maps(draw: st.DrawFn) -> dict[str, Any]:
    """Random maps: literal, parameter and greedy segments, ANY, denies, authenticated,
    and sometimes an HTTP API's ``$default``."""
    keys = draw(route_keys(max_routes=6))
    if draw(st.integers(0, 2)) == 0:
        keys.append(DEFAULT)
    authenticated = [key for key in keys if draw(st.integers(0, 9)) == 0]
    role_lists = st.lists(st.sampled_from(ROLES), min_size=1, max_size=2, unique=True)
    routes = {key: draw(role_lists) for key in keys if key not in authenticated}
    deny = {
        role: draw(st.lists(st.sampled_from(keys), min_size=1, max_size=2, unique=True))
        for role in ROLES
        if draw(st.integers(0, 3)) == 0
    }
    return {"roles": ROLES, "routes": routes, "deny": deny, "authenticated": authenticated}


@st.composite
def filled(draw: st.DrawFn, key: str) -> Request:
    """A request aimed at ``key``: its parameters filled with literals or fresh values."""
    method, segments = split(key)
    values = st.sampled_from([*LITERALS, FRESH])
    path: list[str] = []
    for segment in segments:
        if segment.endswith("+}"):
            path.extend(draw(st.lists(values, min_size=1, max_size=3)))
        else:
            path.append(draw(values) if segment.startswith("{") else segment)
    return (draw(st.sampled_from(REQUEST_METHODS)) if method == "ANY" else method, tuple(path))


SHORT_PATHS = [(), *((a,) for a in LITERALS), (FRESH,)]
SHORT_PATHS += [(a, b) for a in [*LITERALS, FRESH] for b in [*LITERALS, FRESH]]


def candidate_requests(draw: st.DrawFn, data: dict[str, Any]) -> set[Request]:
    keys = [*data["routes"], *data["authenticated"]]
    found = {(m, p) for m in REQUEST_METHODS for p in SHORT_PATHS}
    found |= {draw(filled(key)) for key in keys if key != DEFAULT for _ in range(2)}
    found |= set(draw(st.lists(st.tuples(st.sampled_from(REQUEST_METHODS), paths), max_size=8)))
    return found


def own_patterns(keys: list[str], key: str) -> list[str]:
    """The test's own reading of a route's IAM patterns: ANY expands to the undeclared,
    ``$default`` takes every method on every path."""
    if key == DEFAULT:
        return [f"{m}/*" for m in METHODS]
    method, segments = split(key)
    declared = [split(k) for k in keys if k != DEFAULT]
    taken = {m for m, s in declared if model.shape(s) == model.shape(segments)}
    methods = [m for m in METHODS if m not in taken] if method == "ANY" else [method]
    path = "/".join("*" if s.startswith("{") else s for s in segments)
    return [f"{m}/{path}" for m in methods]


def parse_request(text: str) -> Request:
    method, path = text.split(" ", 1)
    segments = () if path == "/" else tuple(path[1:].split("/"))
    return method, tuple(FRESH if s == "<any>" else s for s in segments)


API_KINDS = re.compile(
    r"request '(?P<request>[^']+)' reaches '(?P<rest>[^']+)' on a REST API but "
    r"'(?P<http>[^']+)' on an HTTP API"
)
INSEPARABLE = re.compile(
    r"roles (?P<roles>\[[^]]*\]) may call '(?P<reaching>[^']+)'(?: and '(?P<kept>[^']+)')? "
    r"but not '(?P<refused>[^']+)': '[^']+' lets in '(?P<bad>[^']+)', which reaches '[^']+', "
    r"and any Deny for it also refuses '(?P<good>[^']+)', which reaches '(?P<blocked>[^']+)'"
)


def check_refusal(data: dict[str, Any], message: str) -> None:
    """A refusal must name a real conflict: checked with the model, not with tenantkit."""
    keys = [*data["routes"], *data["authenticated"]]
    if found := API_KINDS.search(message):
        request = parse_request(found["request"])
        assert model.rest_backtracking(keys, request) == found["rest"]
        assert model.http_api(keys, request) == found["http"]
        assert any(
            may_call(data, roles, found["rest"]) != may_call(data, roles, found["http"])
            for roles in role_sets(ROLES)
        )
        return
    found = INSEPARABLE.search(message)
    assert found, message
    roles = set(ast.literal_eval(found["roles"]))
    reaching, refused, blocked = found["reaching"], found["refused"], found["blocked"]
    assert may_call(data, roles, reaching)
    assert may_call(data, roles, blocked)
    assert blocked in (reaching, found["kept"])
    assert not may_call(data, roles, refused)
    bad, good = parse_request(found["bad"]), parse_request(found["good"])
    assert refused in {MODELS["rest-backtracking"](keys, bad), MODELS["http"](keys, bad)}
    assert blocked in {MODELS["rest-backtracking"](keys, good), MODELS["http"](keys, good)}
    assert any(model.glob(p, arn_path(bad)) for p in own_patterns(keys, reaching))
    # The least pattern covering every request like ``bad`` also covers ``good``.
    least = "/".join("*" if s == FRESH else s for s in bad[1])
    assert model.glob(f"{bad[0]}/{least}", arn_path(good))


@settings(max_examples=300, deadline=None)
@given(data=role_maps(), draw=st.data())
def test_policy_allows_exactly_the_routes_api_gateway_would_run(
    data: dict[str, Any], draw: st.DataObject
) -> None:
    try:
        role_map = RoleMap.from_dict(data)
    except ConfigurationError as error:
        event("refused at load time")
        note(str(error))
        check_refusal(data, str(error))
        return
    event("loaded")
    keys = [*data["routes"], *data["authenticated"]]
    every_role_set = role_sets(ROLES)
    policies = {roles: role_map.policy(roles, ARN) for roles in every_role_set}
    outside = draw.draw(
        st.lists(st.tuples(st.sampled_from(REQUEST_METHODS), out_of_model_paths()), max_size=6)
    )
    for request in outside:
        assert not in_model(request)
        arn = f"{PREFIX}/{arn_path(request)}"
        for roles in every_role_set:
            assert not policy_allows(policies[roles], arn), (sorted(roles), request)
            assert not role_map.invocation_allowed(roles, arn)
    for request in sorted(candidate_requests(draw.draw, data)):
        targets = {name: route(keys, request) for name, route in MODELS.items()}
        if not any(targets.values()):
            continue
        arn = f"{PREFIX}/{arn_path(request)}"
        for roles in every_role_set:
            verdict = policy_allows(policies[roles], arn)
            assert role_map.invocation_allowed(roles, arn) is verdict
            for name, target in targets.items():
                if target is not None:
                    expected = may_call(data, roles, target)
                    assert verdict is expected, (name, target, sorted(roles), request)
                    assert role_map.allows(roles, target) is expected


# -- requests outside the model: a trailing "/" or an empty segment ----------------------

OUT_OF_MODEL = [
    pytest.param(
        {"GET /parks": ["admin"], "GET /parks/{parkId}": ["admin", "member"]},
        ("GET", ("parks", "")),
        id="GET/parks/* matches GET/parks/ (IAM's * matches nothing)",
    ),
    pytest.param(
        {"POST /{p0}": ["admin", "member"], "POST /{p0}/b/a": ["admin"]},
        ("POST", ("a", "b", "a", "")),
        id="Deny POST/*/b/a misses POST/a/b/a/, Allow POST/* takes it",
    ),
    pytest.param(
        {"GET /a/{x}": ["admin", "member"], "GET /a/{x}/{y}": ["admin"]},
        ("GET", ("a", "", "b")),
        id="an empty segment between an allowed route's segments",
    ),
]


@pytest.mark.parametrize(("routes", "request_"), OUT_OF_MODEL)
def test_attack_trailing_slash_or_empty_segment_is_refused(
    routes: dict[str, list[str]], request_: Request
) -> None:
    """A request with a trailing ``/`` or ``//`` is outside the routing model, and a
    gateway may route it where the caller may not go: every policy refuses it."""
    assert not in_model(request_)
    role_map = RoleMap.from_dict({"roles": ["admin", "member"], "routes": routes})
    for roles in ({"member"}, {"admin"}, {"admin", "member"}, set()):
        assert not policy_verdict(role_map, roles, request_), roles


def test_the_root_is_not_a_trailing_slash() -> None:
    """``GET/`` has one ``/`` after the method: the out-of-model Deny spares it."""
    data = {"roles": ["r"], "routes": {"GET /": ["r"], "GET /{x}": ["r"]}}
    role_map = RoleMap.from_dict(data)
    assert policy_verdict(role_map, {"r"}, ("GET", ()))
    assert policy_verdict(role_map, {"r"}, ("GET", ("a",)))
    assert not policy_verdict(role_map, {"r"}, ("GET", ("a", "")))


# -- HTTP API $default ----------------------------------------------------------------------


def test_attack_allowed_wildcard_spills_into_default() -> None:
    """``GET/parks/*`` matches ``GET/parks/a/b``, which an HTTP API sends to ``$default``."""
    data = {
        "roles": ["admin", "visitor"],
        "routes": {
            "GET /parks/{parkId}": ["admin", "visitor"],
            "GET /admin/stats": ["admin"],
            DEFAULT: ["admin"],
        },
    }
    role_map = RoleMap.from_dict(data)
    for request_ in [("GET", ("parks", "a", "b")), ("GET", ("parks", "x", "admin", "stats"))]:
        assert MODELS["http"](data["routes"], request_) == DEFAULT
        assert not policy_verdict(role_map, {"visitor"}, request_)
        assert policy_verdict(role_map, {"admin"}, request_)
    assert policy_verdict(role_map, {"visitor"}, ("GET", ("parks", "x")))
    assert role_map.allows({"admin"}, DEFAULT)
    assert not role_map.allows({"visitor"}, DEFAULT)
    deny = role_map.policy({"visitor"}, ARN)["Statement"][1]["Resource"]
    assert f"{PREFIX}/GET/parks/*/*" in deny


def test_default_allowed_to_a_role_spares_nothing_it_may_not_call() -> None:
    """``$default`` allows ``METHOD/*``; each declared route the caller may not call is
    denied, and whatever no declared route takes stays allowed."""
    data = {
        "roles": ["admin", "visitor"],
        "routes": {
            "GET /admin/stats": ["admin"],
            "GET /parks": ["visitor"],
            DEFAULT: ["visitor"],
        },
    }
    role_map = RoleMap.from_dict(data)
    assert not policy_verdict(role_map, {"visitor"}, ("GET", ("admin", "stats")))
    assert policy_verdict(role_map, {"visitor"}, ("GET", ("admin", "stats", "b")))
    assert policy_verdict(role_map, {"visitor"}, ("POST", ("admin", "stats")))
    assert policy_verdict(role_map, {"visitor"}, ("GET", ()))
    assert not policy_verdict(role_map, {"admin"}, ("GET", ()))
    assert not policy_verdict(role_map, {"visitor"}, ("GET", ("parks", "")))


def test_default_allowed_beside_a_forbidden_parameter_route_is_refused() -> None:
    """``$default`` takes ``GET /admin/a/b``; any Deny for ``GET /admin/<any>`` refuses it."""
    data = {
        "roles": ["admin", "visitor"],
        "routes": {"GET /admin/{x}": ["admin"], DEFAULT: ["visitor", "admin"]},
    }
    with pytest.raises(ConfigurationError) as refused:
        RoleMap.from_dict(data)
    check_refusal({**data, "deny": {}, "authenticated": []}, str(refused.value))


def test_default_that_no_deny_can_carve_out_is_refused() -> None:
    """Any Deny for ``GET /parks/<any>/<any>`` also refuses ``/parks/<any>/favorites/<any>``."""
    data = {
        "roles": ["admin", "visitor"],
        "routes": {
            "GET /parks/{parkId}": ["admin", "visitor"],
            "GET /parks/{parkId}/favorites/{favoriteId}": ["admin", "visitor"],
            DEFAULT: ["admin"],
        },
    }
    with pytest.raises(ConfigurationError) as refused:
        RoleMap.from_dict(data)
    check_refusal({**data, "deny": {}, "authenticated": []}, str(refused.value))


@pytest.mark.parametrize("text", ["$default", " $default", "ANY $default", "GET $default"])
def test_default_is_declared_by_its_name_alone(text: str) -> None:
    routes = {text: ["admin"], "GET /a": ["admin"]}
    if text == DEFAULT:
        assert RoleMap.from_dict({"roles": ["admin"], "routes": routes}).allows({"admin"}, text)
    else:
        with pytest.raises(ConfigurationError):
            RoleMap.from_dict({"roles": ["admin"], "routes": routes})
