"""What a verified caller may act as: their active tenant, its roles, status and tier.

The tenant comes only from the caller's user record (their active tenant, among their
memberships); its status comes from the tenant's record, through a per-container cache
(:class:`~tenantkit._shared.dynamodb.tenant_status.TenantStatusCache`). A caller whose
tenant is not ``active`` (suspended, offboarding, deleted, or without a record) acts in
no tenant: the role map's ``authenticated`` routes only, and the reason says why.

A tenant being moved between tables is ``read_only``: its members keep their roles, but
every write method is denied by one more ``Deny`` statement (``<api>/POST/*`` and so on;
IAM's ``*`` spans segments, and an explicit Deny beats every Allow), so only ``GET``,
``HEAD`` and ``OPTIONS`` requests reach the API, direct integrations included.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from tenantkit._shared.apigw import METHODS
from tenantkit.context import validate_tenant_id
from tenantkit.errors import InvalidTenantIdError

if TYPE_CHECKING:
    from tenantkit._shared.dynamodb.tenant_status import TenantStatus
    from tenantkit.auth.records import UserRecord

__all__ = [
    "READ_METHODS",
    "WRITE_METHODS",
    "Access",
    "TenantStatusSource",
    "deny_writes",
    "resolve_access",
]

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
WRITE_METHODS = tuple(method for method in METHODS if method not in READ_METHODS)
_NONE: frozenset[str] = frozenset()


class TenantStatusSource(Protocol):
    """Where the authorizer reads tenant statuses; ``TenantStatusCache`` is one."""

    def status(self, tenant_id: str) -> TenantStatus | None: ...


@dataclass(frozen=True, slots=True)
class Access:
    """The outcome: the tenant acted in (``None``: authenticated routes only), the roles
    held there, why, and the tenant's status if it was read."""

    tenant_id: str | None
    roles: frozenset[str]
    reason: str
    #: The tenant the decision is about, for the decision log (refused ones too).
    named_tenant: str | None = None
    status: TenantStatus | None = None

    @property
    def read_only(self) -> bool:
        return self.status is not None and self.status.read_only


_MEMBER = "member of the active tenant"


def _membership(user: UserRecord | None) -> tuple[str, frozenset[str]] | str:
    """The user's active tenant and their roles there, or why they act in none (the
    first sight of every user passes here, so no ``Access`` is built that is dropped)."""
    if user is None:
        return "no user record: authenticated routes only"
    active = user.active_tenant
    if active is None:
        return "no active tenant: authenticated routes only"
    roles = user.memberships.get(active)
    if roles is None:
        return "active tenant is not a membership: authenticated only"
    try:
        validate_tenant_id(active)
    except InvalidTenantIdError:
        return "active tenant id is invalid: authenticated only"
    return active, roles


def resolve_access(user: UserRecord | None, tenants: TenantStatusSource | None) -> Access:
    """The caller's access; without ``tenants``, every tenant counts as active."""
    membership = _membership(user)
    if isinstance(membership, str):
        return Access(None, _NONE, membership)
    tenant_id, roles = membership
    if tenants is None:
        return Access(tenant_id, roles, _MEMBER, tenant_id)
    status = tenants.status(tenant_id)
    if status is None:
        return Access(None, _NONE, "tenant has no record: authenticated routes only", tenant_id)
    if not status.active:
        return Access(
            None, _NONE, f"tenant is {status.status}: authenticated routes only", tenant_id, status
        )
    if status.read_only:
        return Access(
            tenant_id,
            roles,
            "member of the active tenant, read-only while it moves",
            tenant_id,
            status,
        )
    return Access(tenant_id, roles, _MEMBER, tenant_id, status)


def deny_writes(policy: dict[str, Any], prefix: str) -> dict[str, Any]:
    """``policy`` with every write method of the API denied (it is changed and returned)."""
    policy["Statement"].append(
        {
            "Action": "execute-api:Invoke",
            "Effect": "Deny",
            "Resource": [f"{prefix}/{method}/*" for method in WRITE_METHODS],
        }
    )
    return policy
