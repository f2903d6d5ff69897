"""The authorizer and tenant status: non-active tenants, tier and placement, read-only
moves, and how long a change takes to reach a container (injected clock, no sleeping)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest

from tenantkit._shared.dynamodb.tenant_status import TenantStatusCache
from tenantkit.auth.access import deny_writes
from tenantkit.auth.authorizer import LambdaAuthorizer
from tenantkit.auth.directory import UserDirectory
from tenantkit.auth.rolemap import RoleMap
from tenantkit.auth.tenant_admin import Operator, TenantAdmin
from tenantkit.auth.verifier import TokenVerifier
from tests._shared.model import may_call, policy_allows, role_sets

from .conftest import ROLE_MAP, TABLE

PREFIX = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test"
OPS = Operator("jane")
TTL = 60.0


class Clock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def admin(directory: UserDirectory, dynamodb: Any) -> TenantAdmin:
    """texas: alice (admin, active there) and bob (member)."""
    for user in ("alice", "bob"):
        directory.create_user(user)
    directory.create_tenant("texas", owner_id="alice")
    directory.provision_membership("texas", "bob", ["member"])
    directory.set_active_tenant(user_id="bob", tenant_id="texas")
    return TenantAdmin(TABLE, client=dynamodb)


@pytest.fixture
def authorizer(
    admin: TenantAdmin,
    directory: UserDirectory,
    dynamodb: Any,
    hs_verifier: TokenVerifier,
    role_map: RoleMap,
    clock: Clock,
) -> LambdaAuthorizer:
    return LambdaAuthorizer(
        verifier=hs_verifier,
        users=directory,
        roles=role_map,
        tenants=TenantStatusCache(TABLE, client=dynamodb, ttl=TTL, clock=clock),
        user_ttl=TTL,
        clock=clock,
    )


def rest(token: str, method: str = "GET", path: str = "/parks") -> dict[str, Any]:
    return {
        "type": "TOKEN",
        "authorizationToken": f"Bearer {token}",
        "methodArn": arn(method, path),
    }


def v2(token: str, route_key: str) -> dict[str, Any]:
    method, _, path = route_key.partition(" ")
    return {
        "version": "2.0",
        "type": "REQUEST",
        "routeKey": route_key,
        "routeArn": arn(method, path),
        "headers": {"authorization": f"Bearer {token}"},
        "requestContext": {"http": {"method": method, "path": path}},
    }


def arn(method: str, path: str) -> str:
    return f"{PREFIX}/{method}{path}"


def concrete(route_key: str) -> tuple[str, str]:
    """A request of the route: every parameter becomes ``p1``."""
    method, _, path = route_key.partition(" ")
    return method, "/".join("p1" if s.startswith("{") else s for s in path.split("/"))


def test_the_context_carries_tier_and_pool_table(
    authorizer: LambdaAuthorizer, hs_token: Callable[..., str]
) -> None:
    context = authorizer(rest(hs_token()))["context"]
    assert (context["tenantId"], context["tier"], context["table"]) == ("texas", "basic", TABLE)
    assert "readOnly" not in context
    assert "tenantStatus" not in context


def test_a_silo_tenants_table_and_tier_reach_the_context(
    authorizer: LambdaAuthorizer, admin: TenantAdmin, hs_token: Callable[..., str]
) -> None:
    admin.set_placement("texas", "silo-texas", actor=OPS)
    admin.set_tier("texas", "premium", actor=OPS)
    context = authorizer(v2(hs_token(), "GET /parks"))["context"]
    assert (context["tier"], context["table"]) == ("premium", "silo-texas")


@pytest.mark.parametrize("state", ["suspended", "offboarding", "deleted"])
def test_members_of_a_non_active_tenant_get_authenticated_routes_only(
    authorizer: LambdaAuthorizer,
    admin: TenantAdmin,
    hs_token: Callable[..., str],
    caplog: pytest.LogCaptureFixture,
    state: str,
) -> None:
    if state == "suspended":
        admin.suspend("texas", actor=OPS)
    else:
        admin.mark_offboarding("texas", actor=OPS)
        if state == "deleted":
            admin.tombstone("texas", actor=OPS)
    token = hs_token()
    with caplog.at_level(logging.INFO, logger="tenantkit.auth.decisions"):
        response = authorizer(rest(token))
        simple = authorizer(v2(token, "GET /parks"))
    policy = response["policyDocument"]
    for route in ROLE_MAP["routes"]:
        assert not policy_allows(policy, arn(*concrete(route))), route
    for route in ROLE_MAP["authenticated"]:
        assert policy_allows(policy, arn(*concrete(route))), route
    assert simple["isAuthorized"] is False
    assert response["context"] == {"userId": "alice", "tenantStatus": state}
    lines = [
        json.loads(r.getMessage()) for r in caplog.records if r.name == "tenantkit.auth.decisions"
    ]
    assert [(x["outcome"], x["tenant"]) for x in lines] == [("deny", "texas")] * 2
    assert all(state in x["reason"] for x in lines)


def test_a_tenant_without_a_record_opens_nothing(
    authorizer: LambdaAuthorizer, dynamodb: Any, hs_token: Callable[..., str]
) -> None:
    dynamodb.delete_item(
        TableName=TABLE, Key={"pk": {"S": "_tenant#texas"}, "sk": {"S": "_tenant"}}
    )
    response = authorizer(rest(hs_token()))
    assert not policy_allows(response["policyDocument"], arn("GET", "/parks"))
    assert "tenantId" not in response["context"]


def test_suspension_takes_effect_within_the_ttl(
    authorizer: LambdaAuthorizer, admin: TenantAdmin, hs_token: Callable[..., str], clock: Clock
) -> None:
    assert authorizer(rest(hs_token(n=1)))["context"]["tenantId"] == "texas"
    admin.suspend("texas", actor=OPS)
    clock.now += TTL - 1
    # A new token (API Gateway's cache missed): within the TTL the container still
    # remembers the tenant as active; this is the documented bound.
    assert authorizer(rest(hs_token(n=2)))["context"]["tenantId"] == "texas"
    clock.now += 1
    late = authorizer(rest(hs_token(n=3)))
    assert late["context"].get("tenantStatus") == "suspended"
    assert not policy_allows(late["policyDocument"], arn("GET", "/parks"))
    admin.resume("texas", actor=OPS)
    clock.now += TTL
    assert authorizer(rest(hs_token(n=4)))["context"]["tenantId"] == "texas"


def test_revocation_and_switches_take_effect_within_the_ttl(
    authorizer: LambdaAuthorizer,
    directory: UserDirectory,
    hs_token: Callable[..., str],
    clock: Clock,
) -> None:
    assert authorizer(rest(hs_token(sub="bob")))["context"]["tenantId"] == "texas"
    directory.remove_member("texas", "bob", actor_id="alice")
    clock.now += TTL - 1
    assert authorizer(rest(hs_token(sub="bob", n=1)))["context"].get("tenantId") == "texas"
    clock.now += 1
    assert "tenantId" not in authorizer(rest(hs_token(sub="bob", n=2)))["context"]


def test_one_get_item_on_first_sight_of_a_user_once_the_tenant_is_cached(
    authorizer: LambdaAuthorizer, hs_token: Callable[..., str], dynamodb_requests: list[str]
) -> None:
    authorizer(rest(hs_token()))
    assert dynamodb_requests == ["GetItem", "GetItem"]  # alice's record, texas's status
    authorizer(rest(hs_token(sub="bob")))
    assert dynamodb_requests == ["GetItem"] * 3  # bob's record only
    authorizer(rest(hs_token(n=2)))
    assert dynamodb_requests == ["GetItem"] * 3


def test_a_moving_tenant_keeps_exactly_its_read_routes(
    authorizer: LambdaAuthorizer,
    admin: TenantAdmin,
    hs_token: Callable[..., str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    admin.set_read_only("texas", True, actor=OPS)
    token = hs_token()
    for route in sorted({*ROLE_MAP["routes"], *ROLE_MAP["authenticated"]}):
        method, path = concrete(route)
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="tenantkit.auth.decisions"):
            response = authorizer(rest(token, method, path))
            simple = authorizer(v2(token, route))
        assert response["context"]["readOnly"] == "true"
        expected = may_call(ROLE_MAP, ["admin"], route) and method in ("GET", "HEAD", "OPTIONS")
        assert policy_allows(response["policyDocument"], arn(method, path)) == expected, route
        assert simple["isAuthorized"] == expected, route
        outcomes = [
            json.loads(r.getMessage())["outcome"]
            for r in caplog.records
            if r.name == "tenantkit.auth.decisions"
        ]
        assert outcomes == ["allow" if expected else "deny"] * 2, route


@pytest.mark.parametrize("roles", role_sets(ROLE_MAP["roles"]))
def test_deny_writes_leaves_reads_and_refuses_every_write(roles: frozenset[str]) -> None:
    """Against the tests' IAM model: for every role set, route and method, a read keeps
    its decision and a write is refused, root and trailing paths included."""
    role_map = RoleMap.from_dict(ROLE_MAP)
    policy = deny_writes(role_map.policy(roles, arn("GET", "/parks")), PREFIX)
    routes = {*ROLE_MAP["routes"], *ROLE_MAP["authenticated"]}
    for route in routes:
        method, path = concrete(route)
        for asked in ("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"):
            allowed = policy_allows(policy, arn(asked, path))
            if asked in ("POST", "PUT", "PATCH", "DELETE"):
                assert not allowed, (asked, path)
            elif asked == method:
                assert allowed == may_call(ROLE_MAP, roles, route), route
    for path in ("/", "/parks/", "//"):
        assert not policy_allows(policy, arn("POST", path))


def test_without_a_status_source_every_tenant_counts_as_active(
    directory: UserDirectory,
    admin: TenantAdmin,
    hs_verifier: TokenVerifier,
    hs_token: Callable[..., str],
    role_map: RoleMap,
) -> None:
    plain = LambdaAuthorizer(verifier=hs_verifier, users=directory, roles=role_map)
    admin.suspend("texas", actor=OPS)
    context = plain(rest(hs_token()))["context"]
    assert context["tenantId"] == "texas"
    assert "tier" not in context
