"""The control-plane records of the app's single table: their keys, shapes and reading.

Control-plane items live in a reserved key namespace: their partition keys start with
``_``, which no tenant id may (tenant ids start with a letter or digit), so no
tenant-scoped key ``<tenantId>#...`` can ever name one. A user id such as
``texas#park1`` becomes ``_user#texas#park1`` and cannot reach tenant ``texas``'s data.
They are read and written through the control-plane store, bound to :data:`NAMESPACES`,
and read back with tenantkit's one unmarshaller. How memberships change is the protocol
of :mod:`tenantkit.auth.memberships`; this module only says what the records are. The
tenant record's status, tier and placement fields are read by
:mod:`tenantkit._shared.dynamodb.tenant_status` (the consumers need them too) and
changed by :mod:`tenantkit.auth.tenant_admin`.

Item shapes (``pk``/``sk`` are the table's key attribute names, configurable)::

    user    pk="_user#<userId>"           sk="_user"
            userId S, email S?, givenName S?, familyName S?,
            memberships M {<tenantId>: SS <roles>}, activeTenant S?, foundedTenants N?
    tenant  pk="_tenant#<tenantId>"       sk="_tenant"
            tenantId S, members SS <userIds>, admins SS <userIds>, createdBy S, createdAt N,
            status S?, tier S?, table S?, readOnly BOOL?, apiKeyId S?, apiKey S?,
            suspendedBy S?, statusChangedBy S?, statusChangedAt N?,
            movingFrom S? (the table a move is leaving; tenantkit.lifecycle's)
    claim   pk="_tenantid#<tenantId lowercased>" sk="_tenantid"
            tenantId S (the exact id that holds the claim)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from tenantkit._shared.dynamodb.tenant_status import (
    ACTIVE,
    DEFAULT_TIER,
    STATUSES,
    SUSPENDED,
    TENANT_SORT,
    tenant_partition,
)
from tenantkit.errors import InvalidInputError

if TYPE_CHECKING:
    from tenantkit._shared.clients import ClientOptions
    from tenantkit._shared.dynamodb.control_plane import ControlPlaneStore

__all__ = [
    "MAX_USER_ID_BYTES",
    "NAMESPACES",
    "ROLE_PATTERN",
    "TIER_PATTERN",
    "ControlKeys",
    "TenantRecord",
    "UserRecord",
    "checked_roles",
    "claim_key",
    "tenant_key",
    "tenant_record",
    "user_key",
    "user_record",
    "valid_role",
    "validate_tier",
    "validate_user_id",
]

#: The role-name grammar, for the directory and the role map alike; a role matches it whole.
ROLE_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}"
_ROLE_RE = re.compile(ROLE_PATTERN, re.ASCII)
#: The tier-name grammar (``basic``, ``premium``): one API Gateway usage plan per tier.
TIER_PATTERN = ROLE_PATTERN
MAX_USER_ID_BYTES = 512
_USER_SK = "_user"
_CLAIM_SK = "_tenantid"
#: The control-plane namespaces of the directory: ``_user#``, ``_tenant#``, ``_tenantid#``.
NAMESPACES = ("user", "tenant", "tenantid")


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
    """A tenant's roster (who is a member, who holds the admin role), status and tier."""

    tenant_id: str
    members: frozenset[str]
    admins: frozenset[str]
    created_by: str | None = None
    status: str = ACTIVE
    tier: str = DEFAULT_TIER


def user_key(user_id: str) -> str:
    """Partition key of a user's item."""
    return f"_user#{user_id}"


def tenant_key(tenant_id: str) -> str:
    """Partition key of a tenant's item."""
    return tenant_partition(tenant_id)


def folded_tenant_id(tenant_id: str) -> str:
    """The form two look-alike tenant ids share: lower case, ``_`` read as ``-``.

    Tenant ids are ASCII (``validate_tenant_id``), so ``str.lower`` is exact case folding;
    ``-`` and ``_`` are the only other characters allowed, and they read alike in a URL.
    """
    return tenant_id.lower().replace("_", "-")


def claim_key(tenant_id: str) -> str:
    """Partition key of the item that reserves ``tenant_id`` in all its look-alike forms."""
    return f"_tenantid#{folded_tenant_id(tenant_id)}"


@dataclass(frozen=True, slots=True)
class ControlKeys:
    """The table's key attribute names, and the full key of each control-plane item."""

    partition_key: str = "pk"
    sort_key: str = "sk"

    def user(self, user_id: str) -> dict[str, str]:
        return {self.partition_key: user_key(user_id), self.sort_key: _USER_SK}

    def tenant(self, tenant_id: str) -> dict[str, str]:
        return {self.partition_key: tenant_key(tenant_id), self.sort_key: TENANT_SORT}

    def claim(self, tenant_id: str) -> dict[str, str]:
        return {self.partition_key: claim_key(tenant_id), self.sort_key: _CLAIM_SK}

    def store(self, table_name: str, client: ClientOptions) -> ControlPlaneStore:
        """The control-plane store of these records in ``table_name``: bound to
        :data:`NAMESPACES`, keyed by these attribute names."""
        # Imported here: importing the records (as the authorizer does) loads no store.
        from tenantkit._shared.dynamodb.control_plane import ControlPlaneStore

        return ControlPlaneStore(
            table_name,
            namespaces=NAMESPACES,
            partition_key=self.partition_key,
            sort_key=self.sort_key,
            client=client,
        )


def validate_user_id(user_id: object) -> str:
    """``user_id`` if it is a non-empty printable string that fits a key, else a 400.

    Printability is checked before the UTF-8 length: a lone surrogate is not printable,
    so it is refused here instead of raising ``UnicodeEncodeError`` from ``encode``.
    """
    if (
        not isinstance(user_id, str)
        or not user_id
        or not user_id.isprintable()
        or len(user_id.encode()) > MAX_USER_ID_BYTES
    ):
        raise InvalidInputError(
            f"user id must be a non-empty printable string of at most {MAX_USER_ID_BYTES} bytes"
        )
    return user_id


def valid_role(role: object) -> bool:
    """Whether ``role`` is a string that :data:`ROLE_PATTERN` matches whole."""
    return isinstance(role, str) and _ROLE_RE.fullmatch(role) is not None


def checked_roles(roles: Iterable[str], known_roles: frozenset[str] | None) -> list[str]:
    """``roles`` sorted without repeats: at least one, each valid and known, else a 400.

    ``known_roles`` ``None`` accepts any name matching :data:`ROLE_PATTERN`.
    """
    given = [roles] if isinstance(roles, str) else list(roles)
    if not all(valid_role(role) for role in given):
        raise InvalidInputError(f"role names must be strings matching {ROLE_PATTERN}")
    result = sorted(set(given))
    if not result:
        raise InvalidInputError("give at least one role; use remove_member to end a membership")
    unknown = [role for role in result if known_roles is not None and role not in known_roles]
    if unknown:
        raise InvalidInputError(
            f"unknown role {unknown[0]!r}; known roles are {sorted(known_roles or ())}"
        )
    return result


def validate_tier(tier: object) -> str:
    """``tier`` if it matches :data:`TIER_PATTERN` whole, else a 400."""
    if not (isinstance(tier, str) and _ROLE_RE.fullmatch(tier)):
        raise InvalidInputError(f"a tier name must match {TIER_PATTERN}")
    return tier


def _text(item: Mapping[str, Any], name: str) -> str | None:
    value = item.get(name)
    return value if type(value) is str else None


def _names(value: object) -> frozenset[str]:
    """A string set read back (``SS``); anything else reads as empty."""
    return frozenset(value) if isinstance(value, set | frozenset) else frozenset()


def user_record(item: Mapping[str, Any]) -> UserRecord:
    """A user item, as the control-plane store reads it back, as a :class:`UserRecord`."""
    raw = item.get("memberships")
    memberships = (
        {tenant_id: _names(roles) for tenant_id, roles in raw.items()}
        if isinstance(raw, dict)
        else {}
    )
    return UserRecord(
        user_id=_text(item, "userId") or "",
        email=_text(item, "email"),
        given_name=_text(item, "givenName"),
        family_name=_text(item, "familyName"),
        memberships=MappingProxyType(memberships),
        active_tenant=_text(item, "activeTenant"),
    )


def tenant_record(tenant_id: str, item: Mapping[str, Any]) -> TenantRecord:
    """A tenant item, as the control-plane store reads it back, as a :class:`TenantRecord`.

    An unknown status reads as ``suspended``, as the status cache reads it.
    """
    status = _text(item, "status") or ACTIVE
    return TenantRecord(
        tenant_id=tenant_id,
        members=_names(item.get("members")),
        admins=_names(item.get("admins")),
        created_by=_text(item, "createdBy"),
        status=status if status in STATUSES else SUSPENDED,
        tier=_text(item, "tier") or DEFAULT_TIER,
    )
