"""Routing by the shared API Gateway model, over the stack's routes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantkit._shared.apigw import Route
from tenantkit.local.gateway import Gateway, Request
from tenantkit.local.gateway.router import Router
from tenantkit.local.stack_specs import ApiSpec, RouteSpec
from tests._shared import model
from tests._shared.strategies import REQUEST_METHODS, paths, route_keys
from tests.local.conftest import built_stack
from tests.local.gateway.conftest import RESOURCE_APP, authorized_template, gateway_of


@pytest.mark.parametrize(
    ("method", "path", "resource", "params"),
    [
        ("GET", "/echo/bob", "/echo/{name}", {"name": "bob"}),
        ("GET", "/echo/me", "/echo/me", {}),  # a literal segment beats {name}
        ("GET", "/echo/bob/", "/echo/{name}", {"name": "bob"}),
        ("GET", "/files/a", "/files/{proxy+}", {"proxy": "a"}),
        ("DELETE", "/files/a/b/c.txt", "/files/{proxy+}", {"proxy": "a/b/c.txt"}),
        ("GET", "/files", None, None),  # {proxy+} needs at least one segment
        ("POST", "/echo/bob", None, None),  # the resource exists, the method does not
        ("GET", "/echo", None, None),
        ("GET", "/echo/bob/extra", None, None),
        ("GET", "/", None, None),
        ("GET", "/echo//bob", None, None),  # an empty segment reaches no resource
        ("GET", "/files/a//b", None, None),
        ("GET", "//echo/bob", None, None),
    ],
)
def test_routing(
    gateway: Gateway, method: str, path: str, resource: str | None, params: Any
) -> None:
    found = gateway.router.route(method, path)
    if resource is None:
        assert found is None
        return
    assert found is not None
    assert (found[0].path, found[1]) == (resource, params)


BACKTRACK_TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Runtime: python3.12
      CodeUri: .
      Events:
        Param: {Type: Api, Properties: {Path: "/a/{x}", Method: get}}
        Literal: {Type: Api, Properties: {Path: /a/b, Method: post}}
        Deep: {Type: Api, Properties: {Path: /a/b/c, Method: get}}
        Greedy: {Type: Api, Properties: {Path: "/a/{rest+}", Method: any}}
"""


@pytest.mark.parametrize(
    ("method", "path", "key", "params"),
    [
        # /a/b has no GET: the literal branch gives way to /a/{x}, as _shared.apigw routes
        # (and so as the role map's policies assume).
        ("GET", "/a/b", "GET /a/{x}", {"x": "b"}),
        ("POST", "/a/b", "POST /a/b", {}),
        ("GET", "/a/b/c", "GET /a/b/c", {}),
        ("GET", "/a/b/d", "ANY /a/{rest+}", {"rest": "b/d"}),
        ("POST", "/a/c", "ANY /a/{rest+}", {"rest": "c"}),
        ("GET", "/a/%62", "GET /a/{x}", {"x": "b"}),  # decoded after splitting
    ],
)
def test_routing_follows_the_shared_model(
    tmp_path: Path, method: str, path: str, key: str, params: dict[str, str]
) -> None:
    (tmp_path / "app.py").write_text("def handler(event, context):\n    return None\n")
    (tmp_path / "template.yaml").write_text(BACKTRACK_TEMPLATE)
    with built_stack(tmp_path / "template.yaml") as stack:
        router = Router(stack.routes)
    found = router.route(method, path)
    assert found is not None
    assert (found[0].route.key, found[1]) == (key, params)


def _spec(key: str) -> RouteSpec:
    return RouteSpec(ApiSpec("Api", "api", "test"), Route.parse(key), "Fn", None, key)


def _distinct(key: str) -> str:
    """The strategies name every parameter ``{p}``; a template names each once."""
    count = iter(range(len(key)))
    return re.sub(r"\{p\}", lambda _: f"{{p{next(count)}}}", key)


def _raw(segment: str, encode: bool) -> str:
    """``segment`` as a client may send it: each character percent-encoded, or not."""
    return "".join(f"%{ord(c):02X}" for c in segment) if encode else segment


@settings(max_examples=200, deadline=None)
@given(
    keys=route_keys(),
    method=st.sampled_from(REQUEST_METHODS),
    segments=paths,
    encoded=st.lists(st.booleans(), min_size=5, max_size=5),
    trailing=st.booleans(),
)
def test_router_equals_the_rest_model_on_raw_paths(
    keys: list[str],
    method: str,
    segments: tuple[str, ...],
    encoded: list[bool],
    trailing: bool,
) -> None:
    """What the gateway adds to the shared routing: split the raw path, decode each
    segment, ignore a trailing ``/``, and read the parameters back out of the path."""
    keys = [_distinct(key) for key in keys]
    raw = "/" + "/".join(_raw(s, e) for s, e in zip(segments, encoded, strict=False))
    if trailing and segments:
        raw += "/"
    found = Router([_spec(key) for key in keys]).route(method, raw)
    expected = model.rest_backtracking(keys, (method, segments))
    assert (found[0].route.key if found else None) == expected
    if found is None:
        return
    spec, params = found
    rebuilt = [
        params[part.strip("{}+")] if part.startswith("{") else part
        for part in spec.path.split("/")[1:]
        if part
    ]
    assert "/".join(rebuilt) == "/".join(segments)


TRAILING_TEMPLATE = authorized_template(
    "tklocal_trailauth",
    "tklocal_trailapp",
    """\
List: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /parks, Method: get}}
One: {Type: Api, Properties: {RestApiId: !Ref Api, Path: "/parks/{parkId}", Method: get}}
""",
)


def test_attack_trailing_slash_reaches_a_route_the_policy_refuses(tmp_path: Path) -> None:
    """``/parks/`` routes to ``GET /parks`` (admin only) with the ARN ``GET/parks/``,
    which the visitor's ``GET/parks/*`` matches: the compiled policy must refuse it.

    The local router ignores one trailing ``/`` (docs/local.md); the method ARN keeps it,
    and every RoleMap policy denies paths outside its model, wherever they route.
    """
    auth = (
        "from tenantkit.auth.rolemap import RoleMap\n"
        "MAP = RoleMap.from_dict({'roles': ['admin', 'visitor'], 'routes': {\n"
        "    'GET /parks': ['admin'], 'GET /parks/{parkId}': ['admin', 'visitor']}})\n"
        "def handler(event, context):\n"
        "    roles = event['authorizationToken'].split(',')\n"
        "    return {'principalId': 'u', 'policyDocument': MAP.policy(roles, event['methodArn'])}\n"
    )
    modules = {"tklocal_trailauth": auth, "tklocal_trailapp": RESOURCE_APP}
    with gateway_of(tmp_path, TRAILING_TEMPLATE, modules) as gateway:

        def call(roles: str, path: str) -> tuple[int, Any]:
            response = gateway.handle(Request("GET", path, [], [("X-Token", roles)], b""))
            return response.status, json.loads(response.body)

        assert call("visitor", "/parks/p1") == (200, "/parks/{parkId}")
        assert call("admin", "/parks") == (200, "/parks")
        assert call("visitor", "/parks")[0] == 403
        for roles in ("visitor", "admin"):
            assert call(roles, "/parks/")[0] == 403, roles
            assert call(roles, "/parks/p1/")[0] == 403, roles
