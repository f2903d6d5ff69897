"""step_functions_task: a Lambda task runs inside the tenant of the execution input."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenantkit import current_tenant, current_tenant_or_none, requires_roles
from tenantkit.errors import (
    ForbiddenError,
    InvalidTenantIdError,
    NoTenantContextError,
    TenantMismatchError,
    TenantNotActiveError,
)
from tenantkit.events import step_functions_task
from tenantkit.events.tasks import TASK_USER_ID

# The tenant id rule, written here as the test's own model (never imported from the code).
VALID = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", fullmatch=True).filter(str.isascii)


@step_functions_task
def publish(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    tenant = current_tenant()
    return {"tenant": tenant.tenant_id, "user": tenant.user_id, "park": event.get("parkId")}


# --- attacks first ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "event",
    [{}, {"parkId": "alamo"}, {"tenantId": None}, {"tenantId": ""}, [], "texas", None],
    ids=["empty", "no-tenant", "null", "blank", "list", "string", "none"],
)
def test_a_missing_tenant_is_refused(event: object) -> None:
    with pytest.raises(NoTenantContextError):
        publish(event)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "tenant", ["*", "a#b", " texas", "texas\n", "\uff54exas", "a" * 65, 7, ["texas"], {"S": "x"}]
)
def test_an_invalid_tenant_is_refused(tenant: object) -> None:
    with pytest.raises(InvalidTenantIdError):
        publish({"tenantId": tenant, "parkId": "alamo"})


def test_a_tenant_nested_deeper_is_not_read() -> None:
    """Only the execution input's top-level tenantId counts (contract 4)."""
    with pytest.raises(NoTenantContextError):
        publish({"detail": {"tenantId": "texas"}, "body": {"tenantId": "texas"}})


def test_the_isolation_tenant_must_agree() -> None:
    with pytest.raises(TenantMismatchError):
        publish({"tenantId": "texas"}, SimpleNamespace(tenant_id="ohio"))
    assert publish({"tenantId": "texas"}, SimpleNamespace(tenant_id="texas"))["tenant"] == "texas"


def test_roles_never_come_from_the_input() -> None:
    @step_functions_task
    @requires_roles("admin")
    def admin_only(event: dict[str, Any], context: Any = None) -> str:
        return "ran"

    with pytest.raises(ForbiddenError):
        admin_only({"tenantId": "texas", "roles": ["admin"], "userId": "alice"})


@given(tenant=VALID, user=st.one_of(st.none(), st.text(min_size=1, max_size=20)))
def test_any_valid_tenant_is_restored_and_reset(tenant: str, user: str | None) -> None:
    event: dict[str, Any] = {"tenantId": tenant, "parkId": "p"}
    if user is not None:
        event["userId"] = user
    result = publish(event)
    assert result == {"tenant": tenant, "user": user or TASK_USER_ID, "park": "p"}
    assert current_tenant_or_none() is None


def test_a_user_id_that_is_not_a_string_is_refused() -> None:
    with pytest.raises(NoTenantContextError):
        publish({"tenantId": "texas", "userId": 7})


def test_the_handler_gets_the_input_unchanged_and_errors_propagate() -> None:
    event = {"tenantId": "texas", "parkId": "alamo", "status": "closed"}
    received: list[object] = []

    @step_functions_task()
    def handler(event: dict[str, Any], context: Any) -> None:
        received.append(event)
        raise KeyError("bug")

    with pytest.raises(KeyError):
        handler(event, None)
    assert received == [event]
    assert current_tenant_or_none() is None


def test_require_active_refuses_before_the_handler() -> None:
    ran: list[str] = []

    def require_active(tenant_id: str) -> None:
        if tenant_id == "ohio":
            raise TenantNotActiveError("ohio is suspended")

    @step_functions_task(require_active=require_active)
    def handler(event: dict[str, Any], context: Any) -> str:
        ran.append(current_tenant().tenant_id)
        return "done"

    with pytest.raises(TenantNotActiveError):
        handler({"tenantId": "ohio"}, None)
    assert handler({"tenantId": "texas"}, None) == "done"
    assert ran == ["texas"]


def test_keeps_metadata() -> None:
    assert publish.__name__ == "publish"
    assert publish.__wrapped__ is not None  # type: ignore[attr-defined]
