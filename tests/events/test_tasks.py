"""step_functions_task: a Lambda task runs inside the tenant of the execution input."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenantkit import (
    TenantContext,
    current_tenant,
    current_tenant_or_none,
    requires_roles,
    tenant_scope,
)
from tenantkit.errors import (
    EnvelopeError,
    ForbiddenError,
    InvalidTenantIdError,
    NoTenantContextError,
    TenantMismatchError,
    TenantNotActiveError,
)
from tenantkit.events import EnvelopeSigner, SecretKey, step_functions_task
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


@pytest.mark.parametrize(
    "event",
    [
        {"tenantId": "victim", "envelope": "not even an envelope"},
        {"tenantId": "victim", "envelope": "{}", "parkId": "alamo"},
    ],
    ids=["junk-envelope", "envelope-beside-fields"],
)
def test_attack_an_eventbridge_detail_routed_into_the_machine_is_refused(
    event: dict[str, Any],
) -> None:
    """A rule that targets the state machine hands it an EventBridge detail: its
    ``tenantId`` sits next to an envelope and is never to be trusted on its own."""
    with pytest.raises(EnvelopeError):
        publish(event)
    assert current_tenant_or_none() is None


def test_a_tenant_nested_deeper_is_not_read() -> None:
    """Only the execution input's top-level tenantId counts (decision 6)."""
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


# --- envelopes, verified with a signer ---------------------------------------------------

SIGNER = EnvelopeSigner(key=SecretKey("an-envelope-secret-of-at-least-32-bytes!"))


def detail(tenant: str, payload: object, purpose: str = "events") -> dict[str, str]:
    """An EventBridge detail as ``put_events`` seals it."""
    with tenant_scope(TenantContext(tenant_id=tenant, user_id="alice", roles=frozenset({"admin"}))):
        return {"tenantId": tenant, "envelope": SIGNER.seal(payload, purpose=purpose)}


@step_functions_task(signer=SIGNER)
def verified(event: Any, context: Any = None) -> dict[str, Any]:
    tenant = current_tenant()
    return {"tenant": tenant.tenant_id, "user": tenant.user_id, "got": event}


def test_a_verified_detail_runs_in_its_envelopes_tenant_with_its_payload() -> None:
    assert verified(detail("texas", {"parkId": "alamo"})) == {
        "tenant": "texas",
        "user": "alice",
        "got": {"parkId": "alamo"},
    }
    event = {"source": "parks", "detail-type": "park-closed", "detail": detail("ohio", 1)}
    assert verified(event)["got"] == {**event, "detail": 1}  # a whole EventBridge event
    assert current_tenant_or_none() is None


@pytest.mark.parametrize(
    "event",
    [
        {"tenantId": "victim", "envelope": "not even an envelope"},
        {**detail("texas", 1), "tenantId": "victim"},  # relabelled
        {**detail("texas", 1), "parkId": "alamo"},  # unsigned fields beside it
        detail("texas", 1, purpose="sqs"),  # sealed for a queue
        detail("texas", 1, purpose="invoke:reports"),  # sealed for a function
        {"tenantId": "victim", "source": "p", "detail-type": "t", "detail": detail("texas", 1)},
    ],
    ids=["junk", "relabelled", "extra-fields", "sqs", "invoke", "event-relabelled"],
)
def test_attack_an_envelope_that_does_not_verify_is_refused_with_a_signer(
    event: dict[str, Any],
) -> None:
    with pytest.raises(EnvelopeError):
        verified(event)
    assert current_tenant_or_none() is None


def test_a_verified_detail_must_agree_with_the_isolation_tenant() -> None:
    with pytest.raises(TenantMismatchError):
        verified(detail("texas", 1), SimpleNamespace(tenant_id="ohio"))


def test_an_eventbridge_event_without_a_signer_is_refused() -> None:
    event = {"source": "parks", "detail-type": "park-closed", "detail": detail("texas", 1)}
    with pytest.raises(EnvelopeError, match="signer"):
        publish(event)
