"""Users, tenants and memberships, stored in the app's single table.

The items and their keys are described in :mod:`tenantkit.auth.records`; founding a
tenant, with its cap per user and its case-insensitive id, in :mod:`tenantkit.auth.founding`.

The user item is the one item the authorizer reads (one ``GetItem``): it holds every
membership, the roles in each tenant and the active tenant. The tenant item holds the
roster that makes the admin rules atomic: every membership change is one transaction
that updates both items under conditions (the actor is an admin *now*, the tenant keeps
at least one admin), so concurrent admins cannot lose each other's updates or remove
the last admin between them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from tenantkit.auth.founding import founding_items, founding_refusal, provisioning_items
from tenantkit.auth.memberships import MembershipChange, membership_items, roster_refusal
from tenantkit.auth.records import (
    ROLE_PATTERN,
    ControlKeys,
    TenantRecord,
    UserRecord,
    parse_tenant_item,
    parse_user_item,
    valid_role,
    validate_user_id,
)
from tenantkit.context import validate_tenant_id
from tenantkit.errors import (
    ConditionFailedError,
    ConfigurationError,
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    LimitExceededError,
    NotFoundError,
    TenantKitError,
    aws_error_code,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = [
    "DEFAULT_MAX_FOUNDED_TENANTS_PER_USER",
    "ROLE_PATTERN",
    "TenantRecord",
    "UserDirectory",
    "UserRecord",
]

DEFAULT_MAX_FOUNDED_TENANTS_PER_USER = 10


def _cancellation_codes(error: Exception) -> list[str]:
    response = getattr(error, "response", None) or {}
    reasons = response.get("CancellationReasons") or []
    return [str(reason.get("Code") or "None") for reason in reasons]


class UserDirectory:
    """Create users and tenants and change memberships, under the admin rules.

    * ``add_member``/``set_roles`` need the actor to hold ``admin_role`` in the tenant.
    * Nobody changes their own roles; the last admin cannot be demoted or removed.
    * ``remove_member`` works for an admin or for users removing themselves.
    * Roles must be in ``known_roles`` (or match ``ROLE_PATTERN`` when it is ``None``).
    * One user founds at most ``max_founded_tenants_per_user`` tenants (``None``: no cap),
      and tenant ids that differ only in letter case are one id (see ``founding``).
    """

    def __init__(
        self,
        table_name: str,
        *,
        client: DynamoDBClient | None = None,
        admin_role: str = "admin",
        known_roles: Iterable[str] | None = None,
        partition_key: str = "pk",
        sort_key: str = "sk",
        consistent_read: bool = True,
        max_founded_tenants_per_user: int | None = DEFAULT_MAX_FOUNDED_TENANTS_PER_USER,
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
        self._keys = ControlKeys(partition_key, sort_key)
        self._consistent = consistent_read
        self._client = client

    @property
    def client(self) -> DynamoDBClient:
        """The low-level DynamoDB client, created on first use."""
        if self._client is None:
            import boto3

            self._client = boto3.client("dynamodb")
        return self._client

    def _roles(self, roles: Iterable[str]) -> list[str]:
        if isinstance(roles, str):
            roles = [roles]
        given = list(roles)
        if not all(valid_role(role) for role in given):
            raise InvalidInputError(f"role names must be strings matching {ROLE_PATTERN}")
        result = sorted(set(given))
        if not result:
            raise InvalidInputError("give at least one role; use remove_member to end a membership")
        unknown = [
            role for role in result if self.known_roles is not None and role not in self.known_roles
        ]
        if unknown:
            raise InvalidInputError(
                f"unknown role {unknown[0]!r}; known roles are {sorted(self.known_roles or ())}"
            )
        return result

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
        item: dict[str, Any] = {
            **self._keys.user(user_id),
            "userId": {"S": user_id},
            "memberships": {"M": {}},
        }
        for name, value in (
            ("email", email),
            ("givenName", given_name),
            ("familyName", family_name),
        ):
            if value:
                item[name] = {"S": value}
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=item,
                ConditionExpression="attribute_not_exists(#pk)",
                ExpressionAttributeNames={"#pk": self._keys.partition_key},
            )
        except Exception as error:
            if aws_error_code(error) == "ConditionalCheckFailedException":
                raise ConflictError("this user already exists; use get_user") from None
            raise
        return parse_user_item(item)

    def get_user(self, user_id: str) -> UserRecord | None:
        """The user's record, or ``None``. Exactly one ``GetItem``."""
        validate_user_id(user_id)
        response = self.client.get_item(
            TableName=self.table_name,
            Key=self._keys.user(user_id),
            ConsistentRead=self._consistent,
        )
        item = response.get("Item")
        return None if item is None else parse_user_item(item)

    # -- tenants -----------------------------------------------------------------------

    def create_tenant(self, tenant_id: str, *, owner_id: str) -> None:
        """Found a tenant: its owner becomes a member holding ``admin_role``.

        The owner's active tenant is set to it if they had none. One transaction checks
        everything (see ``founding``): ``ConflictError`` if the id is taken in any letter
        case, ``LimitExceededError`` if the owner has founded the most tenants one user
        may, ``NotFoundError`` if the owner is not a user.
        """
        validate_tenant_id(tenant_id)
        validate_user_id(owner_id)
        if self.max_founded_tenants_per_user == 0:  # a user with no count passes "< cap"
            raise self._founder_refusal(owner_id)
        items = founding_items(
            self.table_name,
            self._keys,
            tenant_id,
            owner_id,
            admin_role=self.admin_role,
            cap=self.max_founded_tenants_per_user,
        )
        try:
            self.client.transact_write_items(TransactItems=items)
        except Exception as error:
            refusal = founding_refusal(
                _cancellation_codes(error), lambda: self._founder_refusal(owner_id)
            )
            if refusal is None:
                raise
            raise refusal from None

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
        item = self.client.get_item(
            TableName=self.table_name, Key=self._keys.tenant(tenant_id), ConsistentRead=True
        ).get("Item")
        return None if item is None else parse_tenant_item(tenant_id, item)

    # -- memberships -------------------------------------------------------------------

    def add_member(
        self, tenant_id: str, user_id: str, roles: Iterable[str], *, actor_id: str
    ) -> None:
        """Make ``user_id`` a member of ``tenant_id``; ``actor_id`` must be its admin."""
        validate_tenant_id(tenant_id)
        validate_user_id(user_id)
        validate_user_id(actor_id)
        role_list = self._roles(roles)
        self._transact_membership(
            tenant_id,
            user_id,
            actor_id,
            MembershipChange(
                tenant_update="ADD members :u"
                + (", admins :u" if self.admin_role in role_list else ""),
                tenant_condition="attribute_exists(#pk) AND contains(admins, :actor)",
                user_update="SET #m.#t = :roles",
                user_condition="attribute_exists(#pk) AND attribute_not_exists(#m.#t)",
                user_values={":roles": {"SS": role_list}},
            ),
            user_conflict="this user is already a member; use set_roles to change roles",
        )

    def set_roles(
        self, tenant_id: str, user_id: str, roles: Iterable[str], *, actor_id: str
    ) -> None:
        """Replace a member's roles. The actor must be an admin and not the member."""
        validate_tenant_id(tenant_id)
        validate_user_id(user_id)
        validate_user_id(actor_id)
        role_list = self._roles(roles)
        if actor_id == user_id:
            raise ForbiddenError("nobody changes their own roles; ask another admin")
        condition = "contains(members, :uid) AND contains(admins, :actor)"
        if self.admin_role in role_list:
            update = "ADD admins :u"
        else:
            update = "DELETE admins :u"
            condition += " AND (NOT contains(admins, :uid) OR size(admins) > :one)"
        self._transact_membership(
            tenant_id,
            user_id,
            actor_id,
            MembershipChange(
                tenant_update=update,
                tenant_condition=condition,
                user_update="SET #m.#t = :roles",
                user_condition="attribute_exists(#m.#t)",
                user_values={":roles": {"SS": role_list}},
            ),
            user_conflict="this user is not a member; use add_member",
        )

    def remove_member(self, tenant_id: str, user_id: str, *, actor_id: str) -> None:
        """End a membership (an admin, or the user themselves); clear it if active."""
        validate_tenant_id(tenant_id)
        validate_user_id(user_id)
        validate_user_id(actor_id)
        condition = (
            "contains(members, :uid) AND (NOT contains(admins, :uid) OR size(admins) > :one)"
        )
        if actor_id != user_id:
            condition += " AND contains(admins, :actor)"
        for _ in range(5):
            user = self.get_user(user_id)
            if user is None:
                raise NotFoundError("no such user")
            if user.active_tenant == tenant_id:
                user_update = "REMOVE #m.#t, #a"
                user_condition = "attribute_exists(#m.#t) AND #a = :t"
            else:
                user_update = "REMOVE #m.#t"
                user_condition = (
                    "attribute_exists(#m.#t) AND (attribute_not_exists(#a) OR #a <> :t)"
                )
            try:
                self._transact_membership(
                    tenant_id,
                    user_id,
                    actor_id,
                    MembershipChange(
                        tenant_update="DELETE members :u, admins :u",
                        tenant_condition=condition,
                        user_update=user_update,
                        user_condition=user_condition,
                        user_values={":t": {"S": tenant_id}},
                        user_names={"#a": "activeTenant"},
                    ),
                    user_conflict=None,
                    self_allowed=True,
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
        case exists. It claims the id as founding does, and counts against no cap.
        """
        validate_tenant_id(tenant_id)
        validate_user_id(user_id)
        role_list = self._roles(roles)
        items = provisioning_items(
            self.table_name, self._keys, tenant_id, user_id, role_list, admin_role=self.admin_role
        )
        try:
            self.client.transact_write_items(TransactItems=items)
        except Exception as error:
            refusal = founding_refusal(
                _cancellation_codes(error),
                lambda: NotFoundError("no such user; create the user first"),
            )
            if refusal is None:
                raise
            raise refusal from None

    def set_active_tenant(self, user_id: str, tenant_id: str) -> None:
        """Switch the user's active tenant; only to a tenant they are a member of now."""
        validate_tenant_id(tenant_id)
        validate_user_id(user_id)
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=self._keys.user(user_id),
                UpdateExpression="SET #a = :t",
                ConditionExpression="attribute_exists(#m.#t)",
                ExpressionAttributeNames={
                    "#a": "activeTenant",
                    "#m": "memberships",
                    "#t": tenant_id,
                },
                ExpressionAttributeValues={":t": {"S": tenant_id}},
            )
        except Exception as error:
            if aws_error_code(error) != "ConditionalCheckFailedException":
                raise
            if self.get_user(user_id) is None:
                raise NotFoundError("no such user; create the user first") from None
            raise ForbiddenError(
                "you are not a member of that tenant; ask one of its admins to add you"
            ) from None

    def _transact_membership(
        self,
        tenant_id: str,
        user_id: str,
        actor_id: str,
        change: MembershipChange,
        *,
        user_conflict: str | None,
        self_allowed: bool = False,
    ) -> None:
        """Change the roster and the user item together (``membership_items``), or neither."""
        items = membership_items(self.table_name, self._keys, tenant_id, user_id, actor_id, change)
        try:
            self.client.transact_write_items(TransactItems=items)
        except Exception as error:
            codes = _cancellation_codes(error)
            if codes[:1] == ["ConditionalCheckFailed"]:
                raise roster_refusal(
                    self.get_tenant(tenant_id),
                    user_id,
                    actor_id,
                    admin_role=self.admin_role,
                    self_allowed=self_allowed,
                ) from None
            if codes[1:2] == ["ConditionalCheckFailed"]:
                if user_conflict is None:
                    raise _UserChanged from None
                if self.get_user(user_id) is None:
                    raise NotFoundError("no such user; create the user first") from None
                raise ConflictError(user_conflict) from None
            raise


class _UserChanged(Exception):
    """The user item changed between reading it and writing it."""
