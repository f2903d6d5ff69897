"""The membership protocol: each change is one transaction over two records.

Every change writes the tenant's roster (first) and the user's item (second), each under
a condition (the actor is an admin *now*, an admin remains, the membership is as
expected), so concurrent admins cannot lose each other's updates. The conditions fail
without saying which clause did; :func:`roster_refusal` reads the roster once to say.
Conditions are ``boto3.dynamodb.conditions`` objects, compiled with generated
placeholders by the control-plane store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tenantkit._shared.dynamodb.expressions import UpdatePath
from tenantkit._shared.dynamodb.tenant_status import DELETED, OFFBOARDING
from tenantkit._shared.dynamodb.transact import Transaction
from tenantkit.auth.founding import open_for_members
from tenantkit.auth.records import ControlKeys, TenantRecord
from tenantkit.errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    TenantKitError,
    TenantNotActiveError,
)

if TYPE_CHECKING:
    from boto3.dynamodb.conditions import ConditionBase

__all__ = [
    "MembershipChange",
    "add_membership_change",
    "joining",
    "leaving",
    "roles_changing",
    "roster_refusal",
]

_ACTIVE = "activeTenant"
_MEMBERSHIPS = "memberships"


@dataclass(frozen=True, slots=True)
class MembershipChange:
    """What one change writes to the roster and to the user item, and under which conditions.

    ``roster_add``/``roster_delete`` name the roster sets (``members``, ``admins``) the user
    joins or leaves; ``user_set``/``user_remove`` change the user item.
    """

    roster_add: tuple[str, ...]
    roster_delete: tuple[str, ...]
    roster_condition: ConditionBase
    user_set: Mapping[UpdatePath, object]
    user_remove: tuple[UpdatePath, ...]
    user_condition: ConditionBase


def _membership(tenant_id: str) -> str:
    """The condition path of one membership (tenant ids hold no ``.`` or ``[``)."""
    return f"{_MEMBERSHIPS}.{tenant_id}"


def joining(
    keys: ControlKeys, tenant_id: str, actor_id: str, roles: list[str], *, admin_role: str
) -> MembershipChange:
    """``add_member``: the actor is an admin of a tenant that is not being offboarded or
    deleted; the user exists and is not a member yet."""
    from boto3.dynamodb.conditions import Attr

    return MembershipChange(
        roster_add=("members", "admins") if admin_role in roles else ("members",),
        roster_delete=(),
        roster_condition=Attr(keys.partition_key).exists()
        & Attr("admins").contains(actor_id)
        & open_for_members(),
        user_set={(_MEMBERSHIPS, tenant_id): set(roles)},
        user_remove=(),
        user_condition=Attr(keys.partition_key).exists()
        & Attr(_membership(tenant_id)).not_exists(),
    )


def roles_changing(
    tenant_id: str, user_id: str, actor_id: str, roles: list[str], *, admin_role: str
) -> MembershipChange:
    """``set_roles``: both are members, the actor an admin; a demotion leaves an admin."""
    from boto3.dynamodb.conditions import Attr

    condition = Attr("members").contains(user_id) & Attr("admins").contains(actor_id)
    promoted = admin_role in roles
    if not promoted:
        condition &= _keeps_an_admin(user_id)
    return MembershipChange(
        roster_add=("admins",) if promoted else (),
        roster_delete=() if promoted else ("admins",),
        roster_condition=condition,
        user_set={(_MEMBERSHIPS, tenant_id): set(roles)},
        user_remove=(),
        user_condition=Attr(_membership(tenant_id)).exists(),
    )


def leaving(tenant_id: str, user_id: str, actor_id: str, *, active: bool) -> MembershipChange:
    """``remove_member``: by an admin or the user; an admin remains; the user's active
    tenant is cleared with it if it is this one (``active``, as read before)."""
    from boto3.dynamodb.conditions import Attr

    condition = Attr("members").contains(user_id) & _keeps_an_admin(user_id)
    if actor_id != user_id:
        condition &= Attr("admins").contains(actor_id)
    member = Attr(_membership(tenant_id)).exists()
    if active:  # the user item must still have this tenant active, as read
        user_remove: tuple[UpdatePath, ...] = ((_MEMBERSHIPS, tenant_id), _ACTIVE)
        user_condition = member & Attr(_ACTIVE).eq(tenant_id)
    else:
        user_remove = ((_MEMBERSHIPS, tenant_id),)
        user_condition = member & (Attr(_ACTIVE).not_exists() | Attr(_ACTIVE).ne(tenant_id))
    return MembershipChange(
        roster_add=(),
        roster_delete=("members", "admins"),
        roster_condition=condition,
        user_set={},
        user_remove=user_remove,
        user_condition=user_condition,
    )


def _keeps_an_admin(user_id: str) -> ConditionBase:
    from boto3.dynamodb.conditions import Attr

    return ~Attr("admins").contains(user_id) | Attr("admins").size().gt(1)


def add_membership_change(
    tx: Transaction, keys: ControlKeys, tenant_id: str, user_id: str, change: MembershipChange
) -> None:
    """Add the change to ``tx``: the roster's update at index 0, the user's at index 1."""
    user = {user_id}
    tx.update(
        keys.tenant(tenant_id),
        add={name: user for name in change.roster_add} or None,
        delete={name: user for name in change.roster_delete} or None,
        condition=change.roster_condition,
    )
    tx.update(
        keys.user(user_id),
        set=change.user_set or None,
        remove=change.user_remove or None,
        condition=change.user_condition,
    )


def roster_refusal(
    tenant: TenantRecord | None,
    user_id: str,
    actor_id: str,
    *,
    admin_role: str,
    self_allowed: bool,
) -> TenantKitError:
    """Why the tenant's roster refused a membership change, from the roster read after."""
    if tenant is None:
        return NotFoundError("no such tenant")
    if tenant.status in (OFFBOARDING, DELETED):
        return TenantNotActiveError(f"the tenant is {tenant.status}; it takes no new members")
    admins, roster = tenant.admins, tenant.members
    if actor_id not in admins and not (self_allowed and actor_id == user_id):
        return ForbiddenError(f"only a tenant {admin_role} can change its members; ask one of them")
    if user_id not in roster:
        return NotFoundError("this user is not a member of the tenant")
    if user_id in admins and len(admins) <= 1:
        return ConflictError("this is the tenant's last admin; make another member admin first")
    return ConflictError("the membership changed meanwhile; try again")
