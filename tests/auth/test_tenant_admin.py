"""TenantAdmin: who may change a tenant's status and tier, the transitions, the audit log."""

from __future__ import annotations

import itertools
import json
import logging
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenantkit.auth.directory import UserDirectory
from tenantkit.auth.tenant_admin import Member, Operator, TenantAdmin
from tenantkit.errors import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    TenantNotActiveError,
)

from .conftest import TABLE

OPS = Operator("jane")


@pytest.fixture
def admin(dynamodb: Any) -> TenantAdmin:
    return TenantAdmin(TABLE, client=dynamodb)


@pytest.fixture
def tenants(directory: UserDirectory) -> UserDirectory:
    """texas: alice admin, bob member. ohio: carol admin."""
    for user in ("alice", "bob", "carol", "dave"):
        directory.create_user(user)
    directory.create_tenant("texas", owner_id="alice")
    directory.add_member("texas", "bob", ["member"], actor_id="alice")
    directory.create_tenant("ohio", owner_id="carol", tier="premium")
    return directory


def stored(dynamodb: Any, tenant_id: str) -> dict[str, Any]:
    """The raw tenant item, read by the test itself."""
    item = dynamodb.get_item(
        TableName=TABLE, Key={"pk": {"S": f"_tenant#{tenant_id}"}, "sk": {"S": "_tenant"}}
    )["Item"]
    return {name: next(iter(value.values())) for name, value in item.items()}


def audit(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "tenantkit.audit"]


def test_founded_tenants_are_active_in_their_tier(tenants: UserDirectory, dynamodb: Any) -> None:
    assert (stored(dynamodb, "texas")["status"], stored(dynamodb, "texas")["tier"]) == (
        "active",
        "basic",
    )
    assert stored(dynamodb, "ohio")["tier"] == "premium"
    record = tenants.get_tenant("ohio")
    assert record is not None
    assert (record.status, record.tier) == ("active", "premium")


def test_an_invalid_tier_is_refused_before_founding(tenants: UserDirectory) -> None:
    with pytest.raises(InvalidInputError):
        tenants.create_tenant("utah", owner_id="dave", tier="no spaces")
    assert tenants.get_tenant("utah") is None


def test_operator_suspends_resumes_and_sets_tier(
    tenants: UserDirectory, admin: TenantAdmin
) -> None:
    suspended = admin.suspend("texas", actor=OPS)
    assert (suspended.status, suspended.active) == ("suspended", False)
    assert admin.resume("texas", actor=OPS).status == "active"
    assert admin.set_tier("texas", "premium", actor=OPS).tier == "premium"
    now = admin.get("texas")
    assert now is not None
    assert (now.status, now.tier) == ("active", "premium")


def test_a_tenant_admin_may_suspend_and_resume_their_own_suspension(
    tenants: UserDirectory, admin: TenantAdmin
) -> None:
    assert admin.suspend("texas", actor=Member("alice")).status == "suspended"
    assert admin.resume("texas", actor=Member("alice")).status == "active"


@pytest.mark.parametrize("user", ["bob", "carol", "nobody"])
def test_attack_non_admins_cannot_change_a_tenant(
    tenants: UserDirectory, admin: TenantAdmin, dynamodb: Any, user: str
) -> None:
    """A plain member, another tenant's admin, a stranger: 403, and nothing changes."""
    for action in (admin.suspend, admin.mark_offboarding):
        with pytest.raises(ForbiddenError):
            action("texas", actor=Member(user))
    assert stored(dynamodb, "texas")["status"] == "active"


def test_attack_a_tenant_admin_cannot_lift_an_operators_suspension(
    tenants: UserDirectory, admin: TenantAdmin, dynamodb: Any
) -> None:
    admin.suspend("texas", actor=OPS)
    with pytest.raises(ForbiddenError, match="operator"):
        admin.resume("texas", actor=Member("alice"))
    # Nor turn it into their own by suspending again, then resume that.
    with pytest.raises(ForbiddenError, match="operator"):
        admin.suspend("texas", actor=Member("alice"))
    assert stored(dynamodb, "texas")["suspendedBy"] == "operator"
    assert stored(dynamodb, "texas")["status"] == "suspended"
    assert admin.resume("texas", actor=OPS).status == "active"


def test_attack_a_tenant_admin_cannot_turn_an_operators_hold_into_offboarding(
    tenants: UserDirectory, admin: TenantAdmin, dynamodb: Any
) -> None:
    """An operator's suspension is a hold (unpaid bills): offboarding it would leave the
    operator nothing to resume (409), so a tenant admin may not."""
    admin.suspend("texas", actor=OPS)
    with pytest.raises(ForbiddenError, match="operator"):
        admin.mark_offboarding("texas", actor=Member("alice"))
    assert stored(dynamodb, "texas")["status"] == "suspended"
    assert admin.resume("texas", actor=OPS).status == "active"
    # With the hold lifted, the admin may close their tenant again.
    assert admin.mark_offboarding("texas", actor=Member("alice")).status == "offboarding"


@pytest.mark.parametrize(
    "action",
    [
        lambda admin, actor: admin.set_tier("texas", "premium", actor=actor),
        lambda admin, actor: admin.tombstone("texas", actor=actor),
        lambda admin, actor: admin.set_read_only("texas", True, actor=actor),
        lambda admin, actor: admin.set_placement("texas", "silo-texas", actor=actor),
    ],
)
def test_attack_a_tenant_admin_cannot_take_operator_actions(
    tenants: UserDirectory,
    admin: TenantAdmin,
    dynamodb: Any,
    action: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    before = stored(dynamodb, "texas")
    with (
        caplog.at_level(logging.INFO, logger="tenantkit.audit"),
        pytest.raises(ForbiddenError, match="only an operator"),
    ):
        action(admin, Member("alice"))
    assert stored(dynamodb, "texas") == before
    [line] = audit(caplog)
    assert (line["actor"], line["tenant"], line["outcome"]) == ("user:alice", "texas", "refused")


def test_a_tenant_admin_may_close_their_tenant_and_there_is_no_way_back(
    tenants: UserDirectory, admin: TenantAdmin
) -> None:
    assert admin.mark_offboarding("texas", actor=Member("alice")).status == "offboarding"
    for action in (admin.resume, admin.suspend):
        with pytest.raises(ConflictError, match="offboarding"):
            action("texas", actor=OPS)
    with pytest.raises(ConflictError, match="offboarding"):
        admin.set_tier("texas", "premium", actor=OPS)


def test_tombstone_only_after_offboarding_and_deleted_is_final(
    tenants: UserDirectory, admin: TenantAdmin
) -> None:
    with pytest.raises(ConflictError, match="active"):
        admin.tombstone("texas", actor=OPS)
    admin.mark_offboarding("texas", actor=OPS)
    assert admin.tombstone("texas", actor=OPS).status == "deleted"
    assert admin.tombstone("texas", actor=OPS).status == "deleted"  # resumable
    for action in (admin.resume, admin.suspend, admin.mark_offboarding):
        with pytest.raises(ConflictError, match="deleted"):
            action("texas", actor=OPS)


def test_an_unknown_tenant_is_not_found(tenants: UserDirectory, admin: TenantAdmin) -> None:
    with pytest.raises(NotFoundError):
        admin.suspend("utah", actor=OPS)
    assert admin.get("utah") is None


@pytest.mark.parametrize("actor", [Operator(""), Member(""), "jane"])
def test_an_actor_must_be_named_and_typed(
    tenants: UserDirectory, admin: TenantAdmin, actor: Any
) -> None:
    with pytest.raises(InvalidInputError):
        admin.suspend("texas", actor=actor)


def tombstoned(tenants: UserDirectory, admin: TenantAdmin, tenant_id: str) -> None:
    admin.mark_offboarding(tenant_id, actor=OPS)
    admin.tombstone(tenant_id, actor=OPS)


@pytest.mark.parametrize("again", ["texas", "Texas", "TEXAS"])
def test_attack_a_deleted_tenant_id_is_never_founded_again(
    tenants: UserDirectory, admin: TenantAdmin, again: str
) -> None:
    """An item written for the old owner during offboarding must never reach a new one."""
    tombstoned(tenants, admin, "texas")
    with pytest.raises(ConflictError):
        tenants.create_tenant(again, owner_id="dave")
    assert tenants.get_tenant(again) is None or again == "texas"
    record = tenants.get_tenant("texas")
    assert record is not None
    assert record.status == "deleted"


@pytest.mark.parametrize(("first", "again"), [("new-mexico", "new_mexico"), ("A_b", "a-B")])
def test_attack_a_deleted_tenants_look_alikes_are_never_founded(
    tenants: UserDirectory, admin: TenantAdmin, first: str, again: str
) -> None:
    tenants.create_tenant(first, owner_id="dave")
    tombstoned(tenants, admin, first)
    with pytest.raises(ConflictError):
        tenants.create_tenant(again, owner_id="bob")
    assert tenants.get_tenant(again) is None


def test_attack_provisioning_cannot_revive_a_deleted_tenant(
    tenants: UserDirectory, admin: TenantAdmin, dynamodb: Any
) -> None:
    tombstoned(tenants, admin, "texas")
    with pytest.raises(ConflictError):
        tenants.provision_membership("texas", "dave", ["admin"])
    assert "dave" not in stored(dynamodb, "texas").get("members", [])


def test_attack_no_member_joins_a_tenant_being_offboarded(
    tenants: UserDirectory, admin: TenantAdmin
) -> None:
    admin.mark_offboarding("texas", actor=OPS)
    with pytest.raises(TenantNotActiveError, match="offboarding"):
        tenants.add_member("texas", "dave", ["member"], actor_id="alice")
    record = tenants.get_tenant("texas")
    assert record is not None
    assert "dave" not in record.members


def test_a_suspended_tenant_keeps_its_roster_changes(
    tenants: UserDirectory, admin: TenantAdmin
) -> None:
    """Suspension closes routes, not the roster: admins may still tidy it up."""
    admin.suspend("texas", actor=OPS)
    tenants.add_member("texas", "dave", ["member"], actor_id="alice")
    record = tenants.get_tenant("texas")
    assert record is not None
    assert "dave" in record.members


def test_read_only_and_placement(tenants: UserDirectory, admin: TenantAdmin) -> None:
    assert admin.set_read_only("texas", True, actor=OPS).read_only
    moved = admin.set_placement("texas", "silo-texas", actor=OPS)
    assert moved.table == "silo-texas"
    assert not admin.set_read_only("texas", False, actor=OPS).read_only
    assert admin.set_placement("texas", None, actor=OPS).table == TABLE
    with pytest.raises(InvalidInputError):
        admin.set_placement("texas", "x", actor=OPS)


@pytest.mark.parametrize("table", ["bad name!", "silo/texas", "tëxas-silo", "a" * 256, "ab"])
def test_attack_a_placement_no_table_could_have_is_refused_at_write_time(
    tenants: UserDirectory, admin: TenantAdmin, dynamodb: Any, table: str
) -> None:
    """A record naming an impossible table would make every request of the tenant a 500
    (``Placement`` refuses it on read); refuse it before it is written."""
    with pytest.raises(InvalidInputError, match="table name"):
        admin.set_placement("texas", table, actor=OPS)
    assert "table" not in stored(dynamodb, "texas")


def test_every_attempt_is_one_audit_line(
    tenants: UserDirectory, admin: TenantAdmin, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="tenantkit.audit"):
        admin.suspend("texas", actor=OPS)
        with pytest.raises(ForbiddenError):
            admin.resume("texas", actor=Member("alice"))
        with pytest.raises(NotFoundError):
            admin.set_tier("utah", "premium", actor=OPS)
    lines = audit(caplog)
    assert [(x["action"], x["tenant"], x["actor"], x["outcome"]) for x in lines] == [
        ("suspend", "texas", "operator:jane", "done"),
        ("resume", "texas", "user:alice", "refused"),
        ("set-tier", "utah", "operator:jane", "refused"),
    ]
    assert [x["actorKind"] for x in lines] == ["operator", "member", "operator"]
    assert all(x["detail"] for x in lines)


# -- the rules as a model, against random sequences of actions ------------------------

ACTIONS = ("suspend", "resume", "mark_offboarding", "tombstone", "set_tier")
ACTORS = {"operator": OPS, "admin": Member("alice"), "member": Member("bob")}
#: The model's own reading of the docs: the statuses each action may start from.
STARTS = {
    "suspend": {"active", "suspended"},
    "resume": {"active", "suspended"},
    "mark_offboarding": {"active", "suspended", "offboarding"},
    "tombstone": {"offboarding", "deleted"},
    "set_tier": {"active", "suspended"},
}
ENDS = {"suspend": "suspended", "resume": "active", "mark_offboarding": "offboarding"}


@pytest.fixture
def playground(dynamodb: Any) -> tuple[UserDirectory, TenantAdmin, itertools.count[int]]:
    """One table for every example; each example founds a tenant of its own."""
    directory = UserDirectory(TABLE, client=dynamodb, max_founded_tenants_per_user=None)
    for user in ("alice", "bob"):
        directory.create_user(user)
    return directory, TenantAdmin(TABLE, client=dynamodb), itertools.count()


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(ACTIONS), st.sampled_from(sorted(ACTORS))),
        min_size=1,
        max_size=6,
    )
)
def test_random_action_sequences_follow_the_model(
    playground: tuple[UserDirectory, TenantAdmin, itertools.count[int]],
    steps: list[tuple[str, str]],
) -> None:
    directory, admin, numbers = playground
    tenant = f"t{next(numbers)}"
    directory.create_tenant(tenant, owner_id="alice")
    directory.add_member(tenant, "bob", ["member"], actor_id="alice")
    status, tier, suspended_by = "active", "basic", None
    for number, (action, who) in enumerate(steps):
        # A tenant admin acts on their own tenant's status, never over an operator's hold.
        authority = who == "operator" or (
            who == "admin"
            and action in ("suspend", "resume", "mark_offboarding")
            and suspended_by != "operator"
        )
        possible = status in STARTS[action]
        call = getattr(admin, action)
        arguments = (tenant, f"tier{number}") if action == "set_tier" else (tenant,)
        if authority and possible:
            call(*arguments, actor=ACTORS[who])
            if action == "set_tier":
                tier = f"tier{number}"
            elif action == "tombstone":
                status = "deleted"
            else:
                status = ENDS[action]
            if action == "suspend":
                suspended_by = "operator" if who == "operator" else "admin"
            elif action == "resume":
                suspended_by = None
        else:
            expected: tuple[type[Exception], ...] = (
                (ForbiddenError, ConflictError)
                if not authority and not possible
                else (ForbiddenError,)
                if not authority
                else (ConflictError,)
            )
            with pytest.raises(expected):
                call(*arguments, actor=ACTORS[who])
        now = admin.get(tenant)
        assert now is not None
        assert (now.status, now.tier) == (status, tier), steps[: number + 1]
