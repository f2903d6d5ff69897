"""UserDirectory: reserved keys, admin rules, atomic membership changes (moto in-process)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantkit.auth.directory import UserDirectory
from tenantkit.auth.records import (
    MAX_USER_ID_BYTES,
    tenant_key,
    user_key,
    valid_role,
    validate_user_id,
)
from tenantkit.auth.rolemap import RoleMap
from tenantkit.errors import (
    ConfigurationError,
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    InvalidTenantIdError,
    NotFoundError,
)

from .conftest import TABLE


@pytest.fixture
def texas(directory: UserDirectory) -> UserDirectory:
    """Tenant texas owned by alice (admin); bob is a member; carol has no tenant."""
    directory.create_user("alice", email="alice@example.com", given_name="Alice")
    directory.create_user("bob")
    directory.create_user("carol")
    directory.create_tenant("texas", owner_id="alice")
    directory.add_member("texas", "bob", ["member"], actor_id="alice")
    return directory


def memberships(directory: UserDirectory, user_id: str) -> dict[str, frozenset[str]]:
    user = directory.get_user(user_id)
    assert user is not None
    return dict(user.memberships)


def test_control_plane_keys_cannot_collide_with_tenant_keys(
    directory: UserDirectory, dynamodb: Any
) -> None:
    directory.create_user("texas#park1")
    assert user_key("texas#park1") == "_user#texas#park1"
    assert tenant_key("texas") == "_tenant#texas"
    # A tenant-scoped key is "<tenantId>#..." and tenant ids start alphanumeric.
    with pytest.raises(InvalidTenantIdError):
        directory.create_tenant("_user", owner_id="texas#park1")
    items = dynamodb.scan(TableName=TABLE)["Items"]
    assert all(item["pk"]["S"].startswith("_") for item in items)
    assert directory.get_user("texas#park1") is not None


def test_create_user_and_get_user(directory: UserDirectory) -> None:
    created = directory.create_user("alice", email="a@example.com", family_name="Smith")
    loaded = directory.get_user("alice")
    assert loaded == created
    assert loaded.email == "a@example.com"
    assert loaded.family_name == "Smith"
    assert dict(loaded.memberships) == {}
    assert loaded.active_tenant is None
    assert directory.get_user("nobody") is None
    with pytest.raises(ConflictError):
        directory.create_user("alice")
    with pytest.raises(ValueError, match="user id"):
        directory.create_user("")


def test_create_tenant_makes_the_owner_admin_and_active(texas: UserDirectory) -> None:
    alice = texas.get_user("alice")
    assert alice is not None
    assert alice.memberships["texas"] == frozenset({"admin"})
    assert alice.active_tenant == "texas"
    tenant = texas.get_tenant("texas")
    assert tenant is not None
    assert tenant.members == {"alice", "bob"}
    assert tenant.admins == {"alice"}
    assert tenant.created_by == "alice"


def test_create_tenant_refuses_existing_and_invalid_tenants(texas: UserDirectory) -> None:
    with pytest.raises(ConflictError):
        texas.create_tenant("texas", owner_id="carol")
    assert "texas" not in memberships(texas, "carol")  # the transaction did nothing
    with pytest.raises(InvalidTenantIdError):
        texas.create_tenant("tex as", owner_id="carol")
    with pytest.raises(NotFoundError):
        texas.create_tenant("ohio", owner_id="nobody")
    assert texas.get_tenant("ohio") is None


def test_second_tenant_does_not_change_the_active_tenant(texas: UserDirectory) -> None:
    texas.create_tenant("ohio", owner_id="alice")
    alice = texas.get_user("alice")
    assert alice is not None
    assert alice.active_tenant == "texas"
    assert set(alice.memberships) == {"texas", "ohio"}


def test_admin_adds_a_member(texas: UserDirectory) -> None:
    texas.add_member("texas", "carol", ["visitor"], actor_id="alice")
    assert memberships(texas, "carol") == {"texas": frozenset({"visitor"})}
    with pytest.raises(ConflictError, match="already a member"):
        texas.add_member("texas", "carol", ["member"], actor_id="alice")


def test_attack_joining_a_tenant_without_an_admin(texas: UserDirectory) -> None:
    with pytest.raises(ForbiddenError):
        texas.add_member("texas", "carol", ["admin"], actor_id="carol")
    with pytest.raises(ForbiddenError):
        texas.add_member("texas", "carol", ["member"], actor_id="bob")  # bob is no admin
    assert "texas" not in memberships(texas, "carol")


def test_attack_self_escalation(texas: UserDirectory) -> None:
    with pytest.raises(ForbiddenError, match="own roles"):
        texas.set_roles("texas", "bob", ["admin"], actor_id="bob")
    with pytest.raises(ForbiddenError, match="own roles"):
        texas.set_roles("texas", "alice", ["admin", "member"], actor_id="alice")
    assert memberships(texas, "bob") == {"texas": frozenset({"member"})}


def test_attack_member_changes_another_members_roles(texas: UserDirectory) -> None:
    texas.add_member("texas", "carol", ["member"], actor_id="alice")
    with pytest.raises(ForbiddenError):
        texas.set_roles("texas", "carol", ["admin"], actor_id="bob")
    with pytest.raises(ForbiddenError):
        texas.set_roles("texas", "alice", ["visitor"], actor_id="bob")


def test_admin_sets_roles(texas: UserDirectory) -> None:
    texas.set_roles("texas", "bob", ["admin", "member"], actor_id="alice")
    assert memberships(texas, "bob") == {"texas": frozenset({"admin", "member"})}
    # bob is an admin now, so he may demote alice: the tenant keeps one admin.
    texas.set_roles("texas", "alice", ["member"], actor_id="bob")
    assert memberships(texas, "alice") == {"texas": frozenset({"member"})}
    tenant = texas.get_tenant("texas")
    assert tenant is not None
    assert tenant.admins == {"bob"}


def test_set_roles_of_a_non_member(texas: UserDirectory) -> None:
    with pytest.raises(NotFoundError):
        texas.set_roles("texas", "carol", ["member"], actor_id="alice")


def test_last_admin_cannot_leave(texas: UserDirectory) -> None:
    with pytest.raises(ConflictError, match="last admin"):
        texas.remove_member("texas", "alice", actor_id="alice")
    assert memberships(texas, "alice") == {"texas": frozenset({"admin"})}


def test_demoted_admin_cannot_demote_back(texas: UserDirectory) -> None:
    """Two admins demoting each other never leaves the tenant without an admin."""
    texas.set_roles("texas", "bob", ["admin"], actor_id="alice")
    texas.set_roles("texas", "alice", ["member"], actor_id="bob")
    with pytest.raises(ForbiddenError):
        texas.set_roles("texas", "bob", ["member"], actor_id="alice")
    tenant = texas.get_tenant("texas")
    assert tenant is not None
    assert tenant.admins == {"bob"}


@pytest.mark.parametrize("roles", [["superuser"], [], ["bad role"], "owner"])
def test_roles_are_validated(texas: UserDirectory, roles: Any) -> None:
    with pytest.raises(ValueError, match="role"):
        texas.add_member("texas", "carol", roles, actor_id="alice")


def test_admin_role_must_be_known(dynamodb: Any) -> None:
    with pytest.raises(ConfigurationError):
        UserDirectory(TABLE, client=dynamodb, known_roles=["member"])


def test_member_removes_themselves_and_the_active_tenant_is_cleared(
    texas: UserDirectory,
) -> None:
    texas.set_active_tenant(user_id="bob", tenant_id="texas")
    texas.remove_member("texas", "bob", actor_id="bob")
    bob = texas.get_user("bob")
    assert bob is not None
    assert dict(bob.memberships) == {}
    assert bob.active_tenant is None
    tenant = texas.get_tenant("texas")
    assert tenant is not None
    assert "bob" not in tenant.members


def test_admin_removes_a_member_keeping_their_other_active_tenant(
    texas: UserDirectory,
) -> None:
    texas.create_tenant("ohio", owner_id="bob")
    texas.set_active_tenant(user_id="bob", tenant_id="ohio")
    texas.remove_member("texas", "bob", actor_id="alice")
    bob = texas.get_user("bob")
    assert bob is not None
    assert set(bob.memberships) == {"ohio"}
    assert bob.active_tenant == "ohio"


def test_attack_member_removes_another_member(texas: UserDirectory) -> None:
    texas.add_member("texas", "carol", ["member"], actor_id="alice")
    with pytest.raises(ForbiddenError):
        texas.remove_member("texas", "carol", actor_id="bob")
    with pytest.raises(ForbiddenError):
        texas.remove_member("texas", "alice", actor_id="bob")


def test_attack_switching_to_a_non_member_tenant(texas: UserDirectory) -> None:
    texas.create_tenant("ohio", owner_id="carol")
    with pytest.raises(ForbiddenError):
        texas.set_active_tenant(user_id="bob", tenant_id="ohio")
    with pytest.raises(NotFoundError):
        texas.set_active_tenant(user_id="nobody", tenant_id="texas")
    with pytest.raises(InvalidTenantIdError):
        texas.set_active_tenant(user_id="bob", tenant_id="*")
    bob = texas.get_user("bob")
    assert bob is not None
    assert bob.active_tenant is None


def test_switching_after_removal_is_refused(texas: UserDirectory) -> None:
    texas.remove_member("texas", "bob", actor_id="alice")
    with pytest.raises(ForbiddenError):
        texas.set_active_tenant(user_id="bob", tenant_id="texas")


def test_user_record_holds_everything_the_authorizer_needs(texas: UserDirectory) -> None:
    texas.create_tenant("ohio", owner_id="bob")
    bob = texas.get_user("bob")
    assert bob is not None
    assert bob.roles_in("texas") == frozenset({"member"})
    assert bob.roles_in("ohio") == frozenset({"admin"})
    assert bob.roles_in("utah") == frozenset()
    assert bob.active_tenant == "ohio"


def test_remove_member_retries_when_the_user_switched_meanwhile(
    texas: UserDirectory, monkeypatch: pytest.MonkeyPatch
) -> None:
    texas.create_tenant("ohio", owner_id="bob")
    texas.set_active_tenant(user_id="bob", tenant_id="texas")
    real_get_user = texas.get_user
    reads: list[str] = []

    def stale_then_real(user_id: str) -> Any:
        reads.append(user_id)
        user = real_get_user(user_id)
        if len(reads) == 1 and user is not None:
            # A read from before bob switched to texas.
            return type(user)(user.user_id, memberships=user.memberships, active_tenant="ohio")
        return user

    monkeypatch.setattr(texas, "get_user", stale_then_real)
    slept: list[float] = []
    monkeypatch.setattr(texas, "sleep", slept.append)
    texas.remove_member("texas", "bob", actor_id="alice")
    monkeypatch.undo()
    assert len(slept) == 1  # backed off once before reading again
    assert 0 <= slept[0] <= 0.01
    bob = texas.get_user("bob")
    assert bob is not None
    assert bob.active_tenant is None
    assert set(bob.memberships) == {"ohio"}
    assert len(reads) == 2


def test_remove_member_backs_off_between_retries_then_gives_up(
    texas: UserDirectory, monkeypatch: pytest.MonkeyPatch
) -> None:
    texas.create_tenant("ohio", owner_id="bob")
    texas.set_active_tenant(user_id="bob", tenant_id="texas")
    real_get_user = texas.get_user

    def always_stale(user_id: str) -> Any:
        user = real_get_user(user_id)
        assert user is not None
        return type(user)(user.user_id, memberships=user.memberships, active_tenant="ohio")

    monkeypatch.setattr(texas, "get_user", always_stale)
    slept: list[float] = []
    monkeypatch.setattr(texas, "sleep", slept.append)
    with pytest.raises(ConflictError, match="kept changing"):
        texas.remove_member("texas", "bob", actor_id="alice")
    assert len(slept) == 4  # between five attempts, none after the last
    assert all(0 <= s <= cap for s, cap in zip(slept, (0.01, 0.02, 0.04, 0.08), strict=True))


def test_provision_membership_sets_exact_roles_and_the_roster(directory: UserDirectory) -> None:
    directory.create_user("alice")
    directory.create_user("bob")
    directory.provision_membership("texas", "alice", ["admin", "member"])
    directory.provision_membership("colorado", "alice", ["visitor"])  # a tenant with no admin
    directory.provision_membership("texas", "bob", ["admin"])
    assert memberships(directory, "alice") == {
        "texas": frozenset({"admin", "member"}),
        "colorado": frozenset({"visitor"}),
    }
    texas = directory.get_tenant("texas")
    colorado = directory.get_tenant("colorado")
    assert texas is not None
    assert colorado is not None
    assert (texas.members, texas.admins) == ({"alice", "bob"}, {"alice", "bob"})
    assert (colorado.members, colorado.admins) == ({"alice"}, frozenset())
    # Provisioning again replaces the roles and takes the admin role away from the roster.
    directory.provision_membership("texas", "bob", ["member"])
    texas = directory.get_tenant("texas")
    assert texas is not None
    assert texas.admins == {"alice"}
    # The membership counts for switching the active tenant.
    directory.set_active_tenant(user_id="alice", tenant_id="colorado")
    alice = directory.get_user("alice")
    assert alice is not None
    assert alice.active_tenant == "colorado"


def test_provision_membership_checks_its_input(directory: UserDirectory) -> None:
    with pytest.raises(NotFoundError):
        directory.provision_membership("texas", "nobody", ["admin"])
    assert directory.get_tenant("texas") is None  # the transaction did nothing
    directory.create_user("alice")
    with pytest.raises(InvalidTenantIdError):
        directory.provision_membership("tex#as", "alice", ["admin"])
    with pytest.raises(ValueError, match="at least one role"):
        directory.provision_membership("texas", "alice", [])


@pytest.mark.parametrize("roles", [["admin", 1], [None], ["ad min"], ["owner"], []])
def test_bad_roles_are_a_typed_400(texas: UserDirectory, roles: list[Any]) -> None:
    with pytest.raises(InvalidInputError) as error:
        texas.add_member("texas", "carol", roles, actor_id="alice")
    assert error.value.status_code == 400


@pytest.mark.parametrize("user_id", ["", "a\nb", "x" * 513, 7])
def test_bad_user_ids_are_a_typed_400(directory: UserDirectory, user_id: Any) -> None:
    with pytest.raises(InvalidInputError):
        directory.create_user(user_id)


SURROGATE = "a\ud800"  # a lone surrogate: a str that has no UTF-8 encoding


@pytest.mark.parametrize(
    "call",
    [
        lambda d: d.create_user(SURROGATE),
        lambda d: d.get_user(SURROGATE),
        lambda d: d.create_tenant("texas", owner_id=SURROGATE),
        lambda d: d.add_member("texas", SURROGATE, ["member"], actor_id="alice"),
        lambda d: d.add_member("texas", "bob", ["member"], actor_id=SURROGATE),
        lambda d: d.set_roles("texas", SURROGATE, ["member"], actor_id="alice"),
        lambda d: d.set_roles("texas", "bob", ["member"], actor_id=SURROGATE),
        lambda d: d.remove_member("texas", SURROGATE, actor_id="alice"),
        lambda d: d.remove_member("texas", "bob", actor_id=SURROGATE),
        lambda d: d.provision_membership("texas", SURROGATE, ["member"]),
        lambda d: d.set_active_tenant(user_id=SURROGATE, tenant_id="texas"),
    ],
)
def test_a_surrogate_user_id_is_a_typed_400(texas: UserDirectory, call: Any) -> None:
    with pytest.raises(InvalidInputError, match="user id") as error:
        call(texas)
    assert error.value.status_code == 400


def test_a_directory_built_from_a_boto3_session(dynamodb: Any) -> None:
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(region_name="us-east-1")
    users = UserDirectory(
        TABLE, boto3_session=session, boto_config=Config(retries={"max_attempts": 2})
    )
    users.create_user("dora")
    users.create_tenant("texas", owner_id="dora")
    dora = users.get_user("dora")
    assert dora is not None
    assert dora.memberships["texas"] == {"admin"}
    with pytest.raises(ConfigurationError, match="not both"):
        UserDirectory(TABLE, client=dynamodb, boto3_session=session)


def test_a_concurrent_membership_change_is_a_typed_409(
    texas: UserDirectory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError

    def transact_write_items(**request: Any) -> Any:
        raise ClientError(
            {
                "Error": {"Code": "TransactionCanceledException", "Message": "conflict"},
                "CancellationReasons": [{"Code": "TransactionConflict"}, {"Code": "None"}],
            },
            "TransactWriteItems",
        )

    monkeypatch.setattr(texas.client, "transact_write_items", transact_write_items)
    with pytest.raises(ConflictError, match="retry") as raced:
        texas.add_member("texas", "carol", ["member"], actor_id="alice")
    assert raced.value.status_code == 409
    assert raced.value.__context__ is None


@given(st.text(st.characters() | st.characters(categories=["Cs"]), max_size=600))
@settings(max_examples=300, deadline=None)
def test_any_string_user_id_is_accepted_or_a_typed_400(user_id: str) -> None:
    try:
        assert validate_user_id(user_id) == user_id
    except InvalidInputError:
        return
    assert user_id.isprintable()
    assert 0 < len(user_id.encode()) <= MAX_USER_ID_BYTES


ROLE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}", re.ASCII)  # the documented grammar


@given(st.text(st.sampled_from("aZ09_.:-é \n"), max_size=66) | st.text(st.characters(), max_size=3))
@settings(max_examples=300, deadline=None)
def test_the_directory_and_the_role_map_accept_the_same_role_names(role: str) -> None:
    expected = ROLE_NAME.fullmatch(role) is not None
    assert valid_role(role) is expected
    try:
        RoleMap(roles=[role], routes={"GET /x": [role]})
    except ConfigurationError:
        assert not expected
    else:
        assert expected


def test_set_active_tenant_takes_its_ids_by_name(texas: UserDirectory) -> None:
    # Both are str: a positional swap would type-check, so positions are refused.
    with pytest.raises(TypeError):
        texas.set_active_tenant("bob", "texas")  # type: ignore[misc]
    texas.set_active_tenant(user_id="bob", tenant_id="texas")
    bob = texas.get_user("bob")
    assert bob is not None
    assert bob.active_tenant == "texas"
