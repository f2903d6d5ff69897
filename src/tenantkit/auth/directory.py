"""Users, tenants and memberships, stored in the app's single table.

The records and their keys are described in :mod:`tenantkit.auth.records`; the membership
protocol (its conditions, and why a refused change was refused) in
:mod:`tenantkit.auth.memberships`; founding a tenant, with its cap per user and its
case-insensitive id, in :mod:`tenantkit.auth.founding`. Every write goes through the
control-plane store, as a typed transaction where it touches more than one record.

The user item is the one item the authorizer reads (one ``GetItem``): it holds every
membership, the roles in each tenant and the active tenant. The tenant item holds the
roster that makes the admin rules atomic: every membership change is one transaction
that updates both items under conditions (the actor is an admin *now*, the tenant keeps
at least one admin), so concurrent admins cannot lose each other's updates or remove
the last admin between them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from tenantkit._shared.backoff import Backoff
from tenantkit._shared.clients import ClientOptions
from tenantkit._shared.dynamodb.tenant_status import DEFAULT_TIER
from tenantkit.auth.founding import add_founding, add_provisioning, founding_refusal
from tenantkit.auth.memberships import (
    MembershipChange,
    add_membership_change,
    joining,
    leaving,
    roles_changing,
    roster_refusal,
)
from tenantkit.auth.records import (
    ROLE_PATTERN,
    ControlKeys,
    TenantRecord,
    UserRecord,
    checked_roles,
    tenant_record,
    user_record,
    valid_role,
    validate_tier,
    validate_user_id,
)
from tenantkit.auth.usage_plans import UsagePlans, record_usage_key
from tenantkit.context import validate_tenant_id
from tenantkit.errors import (
    ConditionFailedError,
    ConfigurationError,
    ConflictError,
    ForbiddenError,
    LimitExceededError,
    NotFoundError,
    TenantKitError,
)

if TYPE_CHECKING:
    import boto3
    from botocore.config import Config
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = [
    "DEFAULT_MAX_FOUNDED_TENANTS_PER_USER",
    "ROLE_PATTERN",
    "TenantRecord",
    "UserDirectory",
    "UserRecord",
]

DEFAULT_MAX_FOUNDED_TENANTS_PER_USER = 10
#: Reads of the user before a membership change that keeps racing gives up (a 409).
_MEMBERSHIP_ATTEMPTS = 5


def _raced() -> ConditionFailedError:
    """A transaction cancelled by a concurrent one: a 409 to retry, not a taken id."""
    return ConditionFailedError(
        "another change to this tenant or user ran at the same time; try again"
    )


class UserDirectory:
    """Create users and tenants and change memberships, under the admin rules.

    * ``add_member``/``set_roles`` need the actor to hold ``admin_role`` in the tenant.
    * Nobody changes their own roles; the last admin cannot be demoted or removed.
    * ``remove_member`` works for an admin or for users removing themselves.
    * Roles must be in ``known_roles`` (or match ``ROLE_PATTERN`` when it is ``None``).
    * One user founds at most ``max_founded_tenants_per_user`` tenants (``None``: no cap),
      and tenant ids that differ only in letter case are one id (see ``founding``).
    * Tenants are founded active, in ``default_tier`` unless told; with ``usage_plans``,
      each gets its API key in its tier's plan (``tenantkit.auth.usage_plans``). Status
      and tier then change through ``TenantAdmin``.

    The DynamoDB client is ``client``, or one built on first use from ``boto3_session``
    and ``boto_config``. Records are written through the control-plane store, which
    reaches only the directory's ``_user#``, ``_tenant#`` and ``_tenantid#`` keys.
    """

    #: Sleeps between retries of a contended membership change; replaceable in tests.
    sleep: Callable[[float], None] = staticmethod(time.sleep)

    def __init__(
        self,
        table_name: str,
        *,
        client: DynamoDBClient | None = None,
        boto3_session: boto3.session.Session | None = None,
        boto_config: Config | None = None,
        admin_role: str = "admin",
        known_roles: Iterable[str] | None = None,
        partition_key: str = "pk",
        sort_key: str = "sk",
        consistent_read: bool = True,
        max_founded_tenants_per_user: int | None = DEFAULT_MAX_FOUNDED_TENANTS_PER_USER,
        default_tier: str = DEFAULT_TIER,
        usage_plans: UsagePlans | None = None,
    ) -> None:
        if not table_name:
            raise ConfigurationError("UserDirectory needs the table name")
        self.table_name = table_name
        self.admin_role = admin_role
        self.known_roles = None if known_roles is None else frozenset(known_roles)
        if self.known_roles is not None and admin_role not in self.known_roles:
            raise ConfigurationError(f"admin_role {admin_role!r} is not among known_roles")
        if not valid_role(admin_role):
            raise ConfigurationError(f"admin_role must match {ROLE_PATTERN}")
        cap = max_founded_tenants_per_user
        if cap is not None and (type(cap) is not int or cap < 0):
            raise ConfigurationError(
                "max_founded_tenants_per_user must be a whole number >= 0, or None for no cap"
            )
        self.max_founded_tenants_per_user = cap
        self.default_tier = validate_tier(default_tier)
        self.usage_plans = usage_plans
        self._keys = ControlKeys(partition_key, sort_key)
        self._consistent = consistent_read
        self._backoff = Backoff(0.01, 0.5, sleep=lambda seconds: self.sleep(seconds))
        self._store = self._keys.store(
            table_name,
            ClientOptions(
                "dynamodb", client=client, boto3_session=boto3_session, boto_config=boto_config
            ),
        )

    @property
    def client(self) -> DynamoDBClient:
        """The low-level DynamoDB client, created on first use."""
        client: DynamoDBClient = self._store.client
        return client

    # -- users -------------------------------------------------------------------------

    def create_user(
        self,
        user_id: str,
        *,
        email: str | None = None,
        given_name: str | None = None,
        family_name: str | None = None,
    ) -> UserRecord:
        """Create a user with no memberships. ``ConflictError`` if the user exists."""
        validate_user_id(user_id)
        item: dict[str, Any] = {**self._keys.user(user_id), "userId": user_id, "memberships": {}}
        for name, value in (
            ("email", email),
            ("givenName", given_name),
            ("familyName", family_name),
        ):
            if value:
                item[name] = value
        try:
            self._store.put(item, if_not_exists=True)
        except ConditionFailedError:
            raise ConflictError("this user already exists; use get_user") from None
        return user_record(item)

    def get_user(self, user_id: str) -> UserRecord | None:
        """The user's record, or ``None``. Exactly one ``GetItem``."""
        validate_user_id(user_id)
        item = self._store.get(self._keys.user(user_id), consistent=self._consistent)
        return None if item is None else user_record(item)

    # -- tenants -----------------------------------------------------------------------

    def create_tenant(self, tenant_id: str, *, owner_id: str, tier: str | None = None) -> None:
        """Found a tenant, active in ``tier``: its owner becomes a member holding ``admin_role``.

        The owner's active tenant is set to it if they had none. One transaction checks
        everything (see ``founding``): ``ConflictError`` if the id is taken in any letter
        case or was ever offboarded, ``LimitExceededError`` if the owner has founded the
        most tenants one user may, ``NotFoundError`` if the owner is not a user. With
        ``usage_plans``, its API key is created next; should that fail, the error is
        raised and ``TenantAdmin.set_tier`` to its tier creates the key later.
        """
        validate_tenant_id(tenant_id)
        validate_user_id(owner_id)
        tier = self.default_tier if tier is None else validate_tier(tier)
        if self.usage_plans is not None:
            self.usage_plans.check_tier(tier)
        if self.max_founded_tenants_per_user == 0:  # a user with no count passes "< cap"
            raise self._founder_refusal(owner_id)
        try:
            with self._store.transaction() as tx:
                add_founding(
                    tx,
                    self._keys,
                    tenant_id,
                    owner_id,
                    admin_role=self.admin_role,
                    cap=self.max_founded_tenants_per_user,
                    tier=tier,
                )
        except ConditionFailedError as refused:
            failed = refused.failed_indexes
            raise founding_refusal(failed, lambda: self._founder_refusal(owner_id)) from None
        except ConflictError:
            raise _raced() from None
        if self.usage_plans is not None:
            key = self.usage_plans.create_key(tenant_id, tier)
            record_usage_key(self._store, self._keys, tenant_id, key)

    def _founder_refusal(self, owner_id: str) -> TenantKitError:
        """Read the owner once to say why their user item refused a founding."""
        cap = self.max_founded_tenants_per_user
        if self.get_user(owner_id) is None:
            return NotFoundError("the owner is not a user; create the user first")
        if cap is None:  # the user was created after the transaction ran
            return ConditionFailedError("the owner changed meanwhile; try again")
        return LimitExceededError(
            f"this user has founded {cap} tenants, and one user may found at most {cap}; "
            "ask an admin of an existing tenant for a membership instead"
        )

    def get_tenant(self, tenant_id: str) -> TenantRecord | None:
        """The tenant's roster (members and admins), or ``None`` if there is no such tenant."""
        validate_tenant_id(tenant_id)
        item = self._store.get(self._keys.tenant(tenant_id), consistent=True)
        return None if item is None else tenant_record(tenant_id, item)

    # -- memberships -------------------------------------------------------------------

    def add_member(
        self, tenant_id: str, user_id: str, roles: Iterable[str], *, actor_id: str
    ) -> None:
        """Make ``user_id`` a member of ``tenant_id``; ``actor_id`` must be its admin."""
        validate_tenant_id(tenant_id)
        validate_user_id(user_id)
        validate_user_id(actor_id)
        change = joining(
            self._keys,
            tenant_id,
            actor_id,
            checked_roles(roles, self.known_roles),
            admin_role=self.admin_role,
        )
        self._change_membership(
            tenant_id,
            user_id,
            actor_id,
            change,
            user_conflict="this user is already a member; use set_roles to change roles",
        )

    def set_roles(
        self, tenant_id: str, user_id: str, roles: Iterable[str], *, actor_id: str
    ) -> None:
        """Replace a member's roles. The actor must be an admin and not the member."""
        validate_tenant_id(tenant_id)
        validate_user_id(user_id)
        validate_user_id(actor_id)
        role_list = checked_roles(roles, self.known_roles)
        if actor_id == user_id:
            raise ForbiddenError("nobody changes their own roles; ask another admin")
        change = roles_changing(tenant_id, user_id, actor_id, role_list, admin_role=self.admin_role)
        self._change_membership(
            tenant_id,
            user_id,
            actor_id,
            change,
            user_conflict="this user is not a member; use add_member",
        )

    def remove_member(self, tenant_id: str, user_id: str, *, actor_id: str) -> None:
        """End a membership (an admin, or the user themselves); clear it if active."""
        validate_tenant_id(tenant_id)
        validate_user_id(user_id)
        validate_user_id(actor_id)
        for attempt in range(_MEMBERSHIP_ATTEMPTS):
            if attempt:
                self._backoff.wait(attempt - 1)
            user = self.get_user(user_id)
            if user is None:
                raise NotFoundError("no such user")
            change = leaving(tenant_id, user_id, actor_id, active=user.active_tenant == tenant_id)
            try:
                self._change_membership(
                    tenant_id, user_id, actor_id, change, user_conflict=None, self_allowed=True
                )
            except _UserChanged:
                continue  # the user switched tenants meanwhile: read again and retry
            return
        raise ConflictError("the membership kept changing; try again")

    def provision_membership(self, tenant_id: str, user_id: str, roles: Iterable[str]) -> None:
        """Trusted provisioning: give ``user_id`` exactly ``roles`` in ``tenant_id``.

        No acting admin is checked and the tenant is created if it does not exist, so
        this is for code that decides on its own authority: seeding, migrations,
        back-office tools. Never call it with a caller's request from an API handler;
        use :meth:`add_member` and :meth:`set_roles` there. ``NotFoundError`` if the
        user does not exist, ``ConflictError`` if a tenant whose id differs only in letter
        case exists or the tenant is offboarding or deleted. It claims the id as founding
        does, counts against no cap, and creates no usage key (``TenantAdmin.set_tier``
        does).
        """
        validate_tenant_id(tenant_id)
        validate_user_id(user_id)
        role_list = checked_roles(roles, self.known_roles)
        try:
            with self._store.transaction() as tx:
                add_provisioning(
                    tx,
                    self._keys,
                    tenant_id,
                    user_id,
                    role_list,
                    admin_role=self.admin_role,
                    tier=self.default_tier,
                )
        except ConditionFailedError as refused:
            raise founding_refusal(
                refused.failed_indexes,
                lambda: NotFoundError("no such user; create the user first"),
            ) from None
        except ConflictError:
            raise _raced() from None

    def set_active_tenant(self, *, user_id: str, tenant_id: str) -> None:
        """Switch the user's active tenant; only to a tenant they are a member of now.

        Both ids are named (keyword-only): they are both strings, so a swap would pass.
        """
        from boto3.dynamodb.conditions import Attr

        validate_tenant_id(tenant_id)
        validate_user_id(user_id)
        try:
            self._store.update(
                self._keys.user(user_id),
                set={"activeTenant": tenant_id},
                condition=Attr(f"memberships.{tenant_id}").exists(),
            )
        except ConditionFailedError:
            if self.get_user(user_id) is None:
                raise NotFoundError("no such user; create the user first") from None
            raise ForbiddenError(
                "you are not a member of that tenant; ask one of its admins to add you"
            ) from None

    def _change_membership(
        self,
        tenant_id: str,
        user_id: str,
        actor_id: str,
        change: MembershipChange,
        *,
        user_conflict: str | None,
        self_allowed: bool = False,
    ) -> None:
        """Change the roster and the user item together (``memberships``), or neither."""
        try:
            with self._store.transaction() as tx:
                add_membership_change(tx, self._keys, tenant_id, user_id, change)
        except ConditionFailedError as refused:
            failed = refused.failed_indexes
            if 0 in failed:
                raise roster_refusal(
                    self.get_tenant(tenant_id),
                    user_id,
                    actor_id,
                    admin_role=self.admin_role,
                    self_allowed=self_allowed,
                ) from None
            if user_conflict is None:
                raise _UserChanged from None
            if self.get_user(user_id) is None:
                raise NotFoundError("no such user; create the user first") from None
            raise ConflictError(user_conflict) from None


class _UserChanged(Exception):
    """The user item changed between reading it and writing it."""
