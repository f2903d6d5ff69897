"""tenantkit.context: tenant id rules, the context variable, and the event sources."""

from __future__ import annotations

import json
import re
import threading
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenantkit import (
    InvalidTenantIdError,
    NoTenantContextError,
    TenantContext,
    TenantMismatchError,
    current_tenant,
    current_tenant_or_none,
    tenant_scope,
    validate_tenant_id,
)
from tenantkit.context import TENANT_ID_PATTERN, authorizer_context, caller_id
from tests.conftest import load_event

AUTH = {
    "tenantId": "texas",
    "userId": "alice",
    "roles": '["admin","member"]',
    "email": "alice@example.com",
    "firstName": "Alice",
    "lastName": "Liddell",
}


def v1_event(authorizer: dict[str, Any] | None) -> dict[str, Any]:
    event = load_event("apiGatewayProxyEvent.json")
    if authorizer is not None:
        event["requestContext"]["authorizer"] = dict(authorizer)
    return event


def v2_event(lambda_ctx: dict[str, Any] | None) -> dict[str, Any]:
    event = load_event("apiGatewayProxyV2LambdaAuthorizerEvent.json")
    event["requestContext"]["authorizer"] = {"lambda": lambda_ctx} if lambda_ctx else {}
    return event


# --- tenant id rules -------------------------------------------------------------------


@pytest.mark.parametrize("good", ["texas", "T", "new-york_2", "a" * 64, "0abc"])
def test_valid_tenant_ids(good: str) -> None:
    assert validate_tenant_id(good) == good


@pytest.mark.parametrize(
    "bad",
    [
        "",
        None,
        "a#b",
        "*",
        " texas",
        "texas ",
        "texas\n",
        "-texas",
        "_texas",
        "\uff54exas",  # fullwidth look-alike
        "tex\u200bas",  # zero-width space
        "tex\u0430s",  # Cyrillic a
        "a" * 65,
        42,
        b"texas",
    ],
)
def test_invalid_tenant_ids(bad: object) -> None:
    with pytest.raises(InvalidTenantIdError):
        validate_tenant_id(bad)


@given(st.text(max_size=70))
def test_validate_accepts_exactly_the_pattern(value: str) -> None:
    matches = re.fullmatch(TENANT_ID_PATTERN.strip("^$"), value, re.ASCII) is not None
    if matches:
        assert validate_tenant_id(value) == value
    else:
        with pytest.raises(InvalidTenantIdError):
            validate_tenant_id(value)


@given(st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_-]{0,63}\Z"))
def test_validate_accepts_generated_valid_ids(value: str) -> None:
    assert validate_tenant_id(value) == value


def test_ids_compare_exactly() -> None:
    assert TenantContext("Texas", "u") != TenantContext("texas", "u")


# --- the context value -----------------------------------------------------------------


def test_context_is_immutable_and_has_role() -> None:
    ctx = TenantContext("texas", "alice", roles=frozenset({"admin", "member"}))
    with pytest.raises(AttributeError):
        ctx.tenant_id = "washington"  # type: ignore[misc]
    assert ctx.has_role("visitor", "admin")
    assert not ctx.has_role("visitor")
    assert not ctx.has_role()


def test_context_coerces_roles_and_rejects_bad_ids() -> None:
    assert TenantContext("texas", "a", roles={"x"}).roles == frozenset({"x"})  # type: ignore[arg-type]
    with pytest.raises(InvalidTenantIdError):
        TenantContext("a#b", "alice")
    with pytest.raises(NoTenantContextError):
        TenantContext("texas", "")


@pytest.mark.parametrize(
    "roles", [["admin", "member"], ("admin", "member"), ["member", "admin", "admin"]]
)
def test_roles_given_as_a_list_or_tuple_become_a_frozenset(roles: Any) -> None:
    ctx = TenantContext("texas", "alice", roles=roles)
    assert type(ctx.roles) is frozenset
    assert ctx.roles == frozenset({"admin", "member"})
    assert ctx.has_role("admin")
    assert hash(ctx) == hash(TenantContext("texas", "alice", roles=frozenset(roles)))


@pytest.mark.parametrize("roles", ["admin", "a,b", b"admin", 1, None, ["admin", 1], [""]])
def test_roles_that_are_not_a_collection_of_role_names_are_refused(roles: Any) -> None:
    """A bare string would become its letters: ``has_role("a")`` true for ``"admin"``."""
    with pytest.raises(NoTenantContextError, match="roles"):
        TenantContext("texas", "alice", roles=roles)


# --- current_tenant and tenant_scope ---------------------------------------------------


def test_no_default_tenant() -> None:
    assert current_tenant_or_none() is None
    with pytest.raises(NoTenantContextError):
        current_tenant()


def _raise_inside(ctx: TenantContext, seen: list[TenantContext]) -> None:
    with tenant_scope(ctx):
        seen.append(current_tenant())
        raise RuntimeError("boom")


def test_scope_restores_on_exit_exception_and_nesting() -> None:
    outer = TenantContext("texas", "alice")
    inner = TenantContext("colorado", "alice")
    with tenant_scope(outer):
        assert current_tenant() is outer
        seen = []
        with pytest.raises(RuntimeError, match="boom"):
            _raise_inside(inner, seen)
        assert seen == [inner]
        assert current_tenant() is outer
    assert current_tenant_or_none() is None


def test_scope_rejects_non_context() -> None:
    with pytest.raises(TypeError), tenant_scope("texas"):  # type: ignore[arg-type]
        pass


def test_scope_does_not_leak_across_threads() -> None:
    seen: list[TenantContext | None] = []
    with tenant_scope(TenantContext("texas", "alice")):
        t = threading.Thread(target=lambda: seen.append(current_tenant_or_none()))
        t.start()
        t.join()
    assert seen == [None]


# --- sources ---------------------------------------------------------------------------


def test_v1_authorizer_context() -> None:
    ctx = TenantContext.from_event(v1_event(AUTH))
    assert ctx == TenantContext(
        tenant_id="texas",
        user_id="alice",
        roles=frozenset({"admin", "member"}),
        email="alice@example.com",
        given_name="Alice",
        family_name="Liddell",
        request_id="id=",
    )


def test_v1_comma_separated_roles() -> None:
    ctx = TenantContext.from_event(v1_event({**AUTH, "roles": "admin, member"}))
    assert ctx.roles == frozenset({"admin", "member"})


def test_v1_principal_id_stands_for_user_id() -> None:
    ctx = TenantContext.from_event(v1_event({"tenantId": "texas", "principalId": "carol"}))
    assert ctx.user_id == "carol"


def test_v1_optional_keys_absent() -> None:
    ctx = TenantContext.from_event(v1_event({"tenantId": "texas", "userId": "carol"}))
    assert (ctx.roles, ctx.email, ctx.given_name, ctx.family_name) == (
        frozenset(),
        None,
        None,
        None,
    )


def test_v2_lambda_authorizer_context() -> None:
    event = load_event("apiGatewayProxyV2LambdaAuthorizerEvent.json")
    event["requestContext"]["authorizer"]["lambda"].update(userId="bob", roles='["admin"]')
    ctx = TenantContext.from_event(event)
    assert (ctx.tenant_id, ctx.user_id, ctx.roles) == ("123-456-789-012", "bob", {"admin"})


def test_v2_jwt_claims_are_not_a_source() -> None:
    event = load_event("apiGatewayProxyV2LambdaAuthorizerEvent.json")
    event["requestContext"]["authorizer"] = {
        "jwt": {
            "claims": {"tenantId": "texas", "userId": "alice", "sub": "alice"},
            "scopes": [],
        }
    }
    with pytest.raises(NoTenantContextError):
        TenantContext.from_event(event)


@pytest.mark.parametrize(
    "spoof",
    [
        lambda e: e.setdefault("headers", {}).update({"X-Tenant-Id": "texas"}),
        lambda e: e.update(queryStringParameters={"tenantId": "texas"}),
        lambda e: e.update(pathParameters={"tenantId": "texas"}),
        lambda e: e.update(body=json.dumps({"tenantId": "texas"})),
    ],
)
def test_caller_inputs_are_not_a_source(spoof: Any) -> None:
    event = v1_event(None)
    spoof(event)
    with pytest.raises(NoTenantContextError):
        TenantContext.from_event(event)
    # ... and with a real authorizer context, the caller's value changes nothing.
    event = v1_event({**AUTH, "tenantId": "washington"})
    spoof(event)
    assert TenantContext.from_event(event).tenant_id == "washington"


@pytest.mark.parametrize(
    "event",
    [
        {},
        {"requestContext": None},
        {"requestContext": {"authorizer": "texas"}},
        v1_event({"userId": "alice"}),
        v1_event({"tenantId": "", "userId": "alice"}),
        v1_event({"tenantId": "texas"}),
        v1_event({"tenantId": "texas", "userId": "alice", "roles": "[not json"}),
        v1_event({"tenantId": "texas", "userId": "alice", "roles": "[1, 2]"}),
        v2_event(None),
    ],
)
def test_missing_tenant_raises(event: dict[str, Any]) -> None:
    with pytest.raises(NoTenantContextError):
        TenantContext.from_event(event)


@pytest.mark.parametrize("roles", [5, 1.5, True, {"admin": True}])
def test_roles_of_the_wrong_type_are_refused_not_crashed_on(roles: Any) -> None:
    # A number would crash a check that iterates it, a mapping would grant its keys.
    with pytest.raises(NoTenantContextError):
        TenantContext.from_authorizer({**AUTH, "roles": roles})


def test_empty_optional_strings_are_absent() -> None:
    ctx = TenantContext.from_event(v1_event({**AUTH, "email": "", "firstName": "", "lastName": ""}))
    assert (ctx.email, ctx.given_name, ctx.family_name) == (None, None, None)


@pytest.mark.parametrize(
    ("value", "read_only"),
    [("true", True), (True, True), ("false", False), (False, False), ("", False), (None, False)],
)
def test_read_only_comes_as_rest_strings_or_http_api_booleans(value: Any, read_only: bool) -> None:
    assert TenantContext.from_authorizer({**AUTH, "readOnly": value}).read_only is read_only
    assert TenantContext.from_event(v1_event({**AUTH, "readOnly": value})).read_only is read_only
    assert TenantContext.from_event(v2_event({**AUTH, "readOnly": value})).read_only is read_only


def test_a_context_without_read_only_is_writable() -> None:
    assert TenantContext.from_authorizer(AUTH).read_only is False
    assert TenantContext(tenant_id="texas", user_id="alice").read_only is False


@pytest.mark.parametrize("value", ["True", "TRUE", "yes", "1", "0", 1, 0, 0.0, [], ["true"], {}])
def test_a_malformed_read_only_is_the_authorizer_s_fault_not_writable(value: Any) -> None:
    # 0 == False in Python: a numeric 0 must not pass for "false" (nor 1 for "true").
    with pytest.raises(NoTenantContextError, match="readOnly"):
        TenantContext.from_authorizer({**AUTH, "readOnly": value})


@pytest.mark.parametrize("value", ["false", "true", 0, 1, None])
def test_a_context_s_read_only_is_a_bool(value: Any) -> None:
    with pytest.raises(NoTenantContextError, match="read_only"):
        TenantContext(tenant_id="texas", user_id="alice", read_only=value)


@pytest.mark.parametrize("user", [None, "", 5, ["alice"]])
def test_an_authorizer_context_without_a_usable_user_is_the_authorizer_s_fault(
    user: Any,
) -> None:
    # Whatever its tenantId says, a context with no user id is a broken authorizer: the
    # error says so, rather than blaming a tenant id the authorizer also got wrong.
    for tenant in ("texas", "a#b"):
        with pytest.raises(NoTenantContextError):
            TenantContext.from_authorizer({"tenantId": tenant, "userId": user})


@pytest.mark.parametrize(
    "event", [None, "requestContext", ["requestContext"], 42, b"{}", [("requestContext", {})]]
)
def test_an_event_that_is_not_a_mapping_raises(event: Any) -> None:
    with pytest.raises(NoTenantContextError, match="requestContext"):
        TenantContext.from_event(event)


@pytest.mark.parametrize("tenant", ["a#b", "*", " texas", "\uff54exas", "a" * 65])
def test_invalid_tenant_raises(tenant: str) -> None:
    with pytest.raises(InvalidTenantIdError):
        TenantContext.from_event(v1_event({**AUTH, "tenantId": tenant}))


def test_lambda_tenant_isolation_mode() -> None:
    event = v1_event(AUTH)
    assert TenantContext.from_event(event, SimpleNamespace(tenant_id="texas")).tenant_id == "texas"
    assert TenantContext.from_event(event, SimpleNamespace(tenant_id=None)).tenant_id == "texas"
    with pytest.raises(TenantMismatchError):
        TenantContext.from_event(event, SimpleNamespace(tenant_id="washington"))


def test_authorizer_context_is_read_where_each_api_puts_it() -> None:
    assert authorizer_context(v1_event(AUTH)) == AUTH
    assert authorizer_context(v2_event(AUTH)) == AUTH
    # HTTP API: the JWT authorizer's claims beside the Lambda context are never read.
    jwt_only = load_event("apiGatewayProxyV2LambdaAuthorizerEvent.json")
    del jwt_only["requestContext"]["authorizer"]["lambda"]
    assert authorizer_context(jwt_only) is None
    for event in (None, {}, {"requestContext": "x"}, {"requestContext": {"authorizer": "t"}}):
        assert authorizer_context(event) is None


@pytest.mark.parametrize("make", [v1_event, v2_event])
def test_caller_id_is_the_user_id_else_the_principal_id(make: Any) -> None:
    assert caller_id(make({"userId": "alice", "principalId": "bob"})) == "alice"
    assert caller_id(make({"userId": "", "principalId": "bob"})) == "bob"
    assert caller_id(make({"principalId": "bob"})) == "bob"
    for nobody in ({}, {"userId": ""}, {"userId": 7}, {"principalId": ["bob"]}):
        assert caller_id(make(nobody)) is None
    assert caller_id(v2_event(None)) is None
    assert caller_id("not an event") is None
