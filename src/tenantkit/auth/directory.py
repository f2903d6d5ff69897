"""Users, tenants and memberships, stored in the app's single table.

Control-plane items live in a reserved key namespace: their partition keys start with
``_``, which no tenant id may (tenant ids start with a letter or digit), so no
tenant-scoped key ``<tenantId>#...`` can ever name one. A user id such as
``texas#park1`` becomes ``_user#texas#park1`` and cannot reach tenant ``texas``'s data.

Item shapes (``pk``/``sk`` are the table's key attribute names, configurable)::

    user    pk="_user#<userId>"     sk="_user"
            userId S, email S?, givenName S?, familyName S?,
            memberships M {<tenantId>: SS <roles>}, activeTenant S?
    tenant  pk="_tenant#<tenantId>" sk="_tenant"
            tenantId S, members SS <userIds>, admins SS <userIds>, createdBy S, createdAt N

The user item is the one item the authorizer reads (one ``GetItem``): it holds every
membership, the roles in each tenant and the active tenant. The tenant item holds the
roster that makes the admin rules atomic: every membership change is one transaction
that updates both items under conditions (the actor is an admin *now*, the tenant keeps
at least one admin), so concurrent admins cannot lose each other's updates or remove
the last admin between them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from tenantkit.context import validate_tenant_id
from tenantkit.errors import (
    ConfigurationError,
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    TenantKitError,
    aws_error_code,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import UpdateTypeDef

__all__ = ["ROLE_PATTERN", "TenantRecord", "UserDirectory", "UserRecord"]

ROLE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
_ROLE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}\Z", re.ASCII)
_USER_SK = "_user"
_TENANT_SK = "_tenant"
MAX_USER_ID_BYTES = 512


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A user as the authorizer sees them: memberships, roles per tenant, active tenant."""

    user_id: str
    email: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    memberships: Mapping[str, frozenset[str]] = field(default_factory=lambda: MappingProxyType({}))
    active_tenant: str | None = None

    def roles_in(self, tenant_id: str) -> frozenset[str]:
        """The user's roles in ``tenant_id`` (empty if not a member)."""
        return self.memberships.get(tenant_id, frozenset())


@dataclass(frozen=True, slots=True)
class TenantRecord:
    """A tenant's roster: who is a member, who holds the admin role."""

    tenant_id: str
    members: frozenset[str]
    admins: frozenset[str]
    created_by: str | None = None


def user_key(user_id: str) -> str:
    """Partition key of a user's item."""
    return f"_user#{user_id}"


def tenant_key(tenant_id: str) -> str:
    """Partition key of a tenant's item."""
    return f"_tenant#{tenant_id}"


def _validate_user_id(user_id: object) -> str:
    if (
        not isinstance(user_id, str)
        or not user_id
        or len(user_id.encode()) > MAX_USER_ID_BYTES
        or not user_id.isprintable()
    ):
        raise InvalidInputError(
            f"user id must be a non-empty printable string of at most {MAX_USER_ID_BYTES} bytes"
        )
    return user_id


def _s(item: Mapping[str, Any], name: str) -> str | None:
    value = item.get(name)
    return value.get("S") if isinstance(value, dict) else None


def parse_user_item(item: Mapping[str, Any]) -> UserRecord:
    """Hand-unmarshal a user item in DynamoDB JSON (faster than ``TypeDeserializer``)."""
    memberships: dict[str, frozenset[str]] = {}
    raw = item.get("memberships")
    if isinstance(raw, dict):
        for tenant_id, roles in (raw.get("M") or {}).items():
            if isinstance(roles, dict):
                memberships[tenant_id] = frozenset(roles.get("SS") or ())
    return UserRecord(
        user_id=_s(item, "userId") or "",
        email=_s(item, "email"),
        given_name=_s(item, "givenName"),
        family_name=_s(item, "familyName"),
        memberships=MappingProxyType(memberships),
        active_tenant=_s(item, "activeTenant"),
    )


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
    ) -> None:
        if not table_name:
            raise ConfigurationError("UserDirectory needs the table name")
        self.table_name = table_name
        self.admin_role = admin_role
        self.known_roles = None if known_roles is None else frozenset(known_roles)
        if self.known_roles is not None and admin_role not in self.known_roles:
            raise ConfigurationError(f"admin_role {admin_role!r} is not among known_roles")
        if not _ROLE_RE.match(admin_role):
            raise ConfigurationError(f"admin_role must match {ROLE_PATTERN}")
        self._pk = partition_key
        self._sk = sort_key
        self._consistent = consistent_read
        self._client = client

    @property
    def client(self) -> DynamoDBClient:
        """The low-level DynamoDB client, created on first use."""
        if self._client is None:
            import boto3

            self._client = boto3.client("dynamodb")
        return self._client

    def _user_key(self, user_id: str) -> dict[str, Any]:
        return {self._pk: {"S": user_key(user_id)}, self._sk: {"S": _USER_SK}}

    def _tenant_key(self, tenant_id: str) -> dict[str, Any]:
        return {self._pk: {"S": tenant_key(tenant_id)}, self._sk: {"S": _TENANT_SK}}

    def _roles(self, roles: Iterable[str]) -> list[str]:
        if isinstance(roles, str):
            roles = [roles]
        given = list(roles)
        if not all(isinstance(role, str) and _ROLE_RE.match(role) for role in given):
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
        _validate_user_id(user_id)
        item: dict[str, Any] = {
            **self._user_key(user_id),
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
                ExpressionAttributeNames={"#pk": self._pk},
            )
        except Exception as error:
            if aws_error_code(error) == "ConditionalCheckFailedException":
                raise ConflictError("this user already exists; use get_user") from None
            raise
        return parse_user_item(item)

    def get_user(self, user_id: str) -> UserRecord | None:
        """The user's record, or ``None``. Exactly one ``GetItem``."""
        _validate_user_id(user_id)
        response = self.client.get_item(
            TableName=self.table_name,
            Key=self._user_key(user_id),
            ConsistentRead=self._consistent,
        )
        item = response.get("Item")
        return None if item is None else parse_user_item(item)

    # -- tenants -----------------------------------------------------------------------

    def create_tenant(self, tenant_id: str, *, owner_id: str) -> None:
        """Create a tenant whose owner becomes a member holding ``admin_role``.

        The owner's active tenant is set to it if they had none. ``ConflictError`` if
        the tenant exists, ``NotFoundError`` if the owner does not.
        """
        validate_tenant_id(tenant_id)
        _validate_user_id(owner_id)
        owner = {"SS": [owner_id]}
        names = {"#pk": self._pk, "#m": "memberships", "#t": tenant_id, "#a": "activeTenant"}
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.table_name,
                            "Item": {
                                **self._tenant_key(tenant_id),
                                "tenantId": {"S": tenant_id},
                                "members": owner,
                                "admins": owner,
                                "createdBy": {"S": owner_id},
                                "createdAt": {"N": str(int(time.time()))},
                            },
                            "ConditionExpression": "attribute_not_exists(#pk)",
                            "ExpressionAttributeNames": {"#pk": self._pk},
                        }
                    },
                    {
                        "Update": {
                            "TableName": self.table_name,
                            "Key": self._user_key(owner_id),
                            "UpdateExpression": "SET #m.#t = :roles, #a = if_not_exists(#a, :t)",
                            "ConditionExpression": "attribute_exists(#pk)",
                            "ExpressionAttributeNames": names,
                            "ExpressionAttributeValues": {
                                ":roles": {"SS": [self.admin_role]},
                                ":t": {"S": tenant_id},
                            },
                        }
                    },
                ]
            )
        except Exception as error:
            codes = _cancellation_codes(error)
            if codes[:1] == ["ConditionalCheckFailed"]:
                raise ConflictError("this tenant already exists; choose another id") from None
            if codes[1:2] == ["ConditionalCheckFailed"]:
                raise NotFoundError("the owner is not a user; create the user first") from None
            raise

    def get_tenant(self, tenant_id: str) -> TenantRecord | None:
        """The tenant's roster (members and admins), or ``None`` if there is no such tenant."""
        validate_tenant_id(tenant_id)
        item = self.client.get_item(
            TableName=self.table_name, Key=self._tenant_key(tenant_id), ConsistentRead=True
        ).get("Item")
        if item is None:
            return None
        return TenantRecord(
            tenant_id=tenant_id,
            members=frozenset(item.get("members", {}).get("SS") or ()),
            admins=frozenset(item.get("admins", {}).get("SS") or ()),
            created_by=_s(item, "createdBy"),
        )

    # -- memberships -------------------------------------------------------------------

    def add_member(
        self, tenant_id: str, user_id: str, roles: Iterable[str], *, actor_id: str
    ) -> None:
        """Make ``user_id`` a member of ``tenant_id``; ``actor_id`` must be its admin."""
        validate_tenant_id(tenant_id)
        _validate_user_id(user_id)
        _validate_user_id(actor_id)
        role_list = self._roles(roles)
        self._transact_membership(
            tenant_id,
            user_id,
            actor_id,
            tenant_update="ADD members :u"
            + (", admins :u" if self.admin_role in role_list else ""),
            tenant_condition="attribute_exists(#pk) AND contains(admins, :actor)",
            user_update="SET #m.#t = :roles",
            user_condition="attribute_exists(#pk) AND attribute_not_exists(#m.#t)",
            user_values={":roles": {"SS": role_list}},
            user_conflict="this user is already a member; use set_roles to change roles",
        )

    def set_roles(
        self, tenant_id: str, user_id: str, roles: Iterable[str], *, actor_id: str
    ) -> None:
        """Replace a member's roles. The actor must be an admin and not the member."""
        validate_tenant_id(tenant_id)
        _validate_user_id(user_id)
        _validate_user_id(actor_id)
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
            tenant_update=update,
            tenant_condition=condition,
            user_update="SET #m.#t = :roles",
            user_condition="attribute_exists(#m.#t)",
            user_values={":roles": {"SS": role_list}},
            user_conflict="this user is not a member; use add_member",
        )

    def remove_member(self, tenant_id: str, user_id: str, *, actor_id: str) -> None:
        """End a membership (an admin, or the user themselves); clear it if active."""
        validate_tenant_id(tenant_id)
        _validate_user_id(user_id)
        _validate_user_id(actor_id)
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
                    tenant_update="DELETE members :u, admins :u",
                    tenant_condition=condition,
                    user_update=user_update,
                    user_condition=user_condition,
                    user_values={":t": {"S": tenant_id}},
                    user_names={"#a": "activeTenant"},
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
        user does not exist.
        """
        validate_tenant_id(tenant_id)
        _validate_user_id(user_id)
        role_list = self._roles(roles)
        roster = (
            "ADD members :u, admins :u"
            if self.admin_role in role_list
            else "ADD members :u DELETE admins :u"
        )
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": self.table_name,
                            "Key": self._tenant_key(tenant_id),
                            "UpdateExpression": "SET tenantId = :t, "
                            "createdBy = if_not_exists(createdBy, :by), "
                            f"createdAt = if_not_exists(createdAt, :now) {roster}",
                            "ExpressionAttributeValues": {
                                ":t": {"S": tenant_id},
                                ":u": {"SS": [user_id]},
                                ":by": {"S": "provisioning"},
                                ":now": {"N": str(int(time.time()))},
                            },
                        }
                    },
                    {
                        "Update": {
                            "TableName": self.table_name,
                            "Key": self._user_key(user_id),
                            "UpdateExpression": "SET #m.#t = :roles",
                            "ConditionExpression": "attribute_exists(#pk)",
                            "ExpressionAttributeNames": {
                                "#pk": self._pk,
                                "#m": "memberships",
                                "#t": tenant_id,
                            },
                            "ExpressionAttributeValues": {":roles": {"SS": role_list}},
                        }
                    },
                ]
            )
        except Exception as error:
            if _cancellation_codes(error)[1:2] == ["ConditionalCheckFailed"]:
                raise NotFoundError("no such user; create the user first") from None
            raise

    def set_active_tenant(self, user_id: str, tenant_id: str) -> None:
        """Switch the user's active tenant; only to a tenant they are a member of now."""
        validate_tenant_id(tenant_id)
        _validate_user_id(user_id)
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=self._user_key(user_id),
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
        *,
        tenant_update: str,
        tenant_condition: str,
        user_update: str,
        user_condition: str,
        user_values: dict[str, Any],
        user_conflict: str | None,
        user_names: dict[str, str] | None = None,
        self_allowed: bool = False,
    ) -> None:
        """Update the tenant roster and the user item in one transaction, or neither."""
        tenant_values: dict[str, Any] = {":u": {"SS": [user_id]}}
        if ":uid" in tenant_condition:
            tenant_values[":uid"] = {"S": user_id}
        if ":actor" in tenant_condition:
            tenant_values[":actor"] = {"S": actor_id}
        if ":one" in tenant_condition:
            tenant_values[":one"] = {"N": "1"}
        tenant_op: UpdateTypeDef = {
            "TableName": self.table_name,
            "Key": self._tenant_key(tenant_id),
            "UpdateExpression": tenant_update,
            "ConditionExpression": tenant_condition,
            "ExpressionAttributeValues": tenant_values,
        }
        if "#pk" in tenant_condition:
            tenant_op["ExpressionAttributeNames"] = {"#pk": self._pk}
        names = {"#m": "memberships", "#t": tenant_id, **(user_names or {})}
        if "#pk" in user_condition:
            names["#pk"] = self._pk
        user_op: UpdateTypeDef = {
            "TableName": self.table_name,
            "Key": self._user_key(user_id),
            "UpdateExpression": user_update,
            "ConditionExpression": user_condition,
            "ExpressionAttributeNames": names,
        }
        if user_values:
            user_op["ExpressionAttributeValues"] = user_values
        try:
            self.client.transact_write_items(
                TransactItems=[{"Update": tenant_op}, {"Update": user_op}]
            )
        except Exception as error:
            codes = _cancellation_codes(error)
            if codes[:1] == ["ConditionalCheckFailed"]:
                raise self._explain_refusal(tenant_id, user_id, actor_id, self_allowed) from None
            if codes[1:2] == ["ConditionalCheckFailed"]:
                if user_conflict is None:
                    raise _UserChanged from None
                if self.get_user(user_id) is None:
                    raise NotFoundError("no such user; create the user first") from None
                raise ConflictError(user_conflict) from None
            raise

    def _explain_refusal(
        self, tenant_id: str, user_id: str, actor_id: str, self_allowed: bool
    ) -> TenantKitError:
        """Read the roster once to say why the tenant refused a membership change."""
        tenant = self.get_tenant(tenant_id)
        if tenant is None:
            return NotFoundError("no such tenant")
        admins, roster = tenant.admins, tenant.members
        if actor_id not in admins and not (self_allowed and actor_id == user_id):
            return ForbiddenError(
                f"only a tenant {self.admin_role} can change its members; ask one of them"
            )
        if user_id not in roster:
            return NotFoundError("this user is not a member of the tenant")
        if user_id in admins and len(admins) <= 1:
            return ConflictError("this is the tenant's last admin; make another member admin first")
        return ConflictError("the membership changed meanwhile; try again")


class _UserChanged(Exception):
    """The user item changed between reading it and writing it."""
