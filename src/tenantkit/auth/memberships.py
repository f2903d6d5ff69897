"""Membership changes: the two-item transaction, and why a tenant's roster refused one.

Every change writes the tenant's roster and the user's item together, each under a
condition (the actor is an admin *now*, an admin remains, the membership is as
expected), so concurrent admins cannot lose each other's updates. The conditions fail
without saying which clause did; :func:`roster_refusal` reads the roster once to say.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tenantkit.auth.records import ControlKeys, TenantRecord
from tenantkit.errors import ConflictError, ForbiddenError, NotFoundError, TenantKitError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef, UpdateTypeDef

__all__ = ["MembershipChange", "membership_items", "roster_refusal"]


@dataclass(frozen=True, slots=True)
class MembershipChange:
    """What one change writes to the roster and the user item, and under which conditions."""

    tenant_update: str
    tenant_condition: str
    user_update: str
    user_condition: str
    user_values: dict[str, Any]
    user_names: dict[str, str] = field(default_factory=dict)


def membership_items(
    table_name: str,
    keys: ControlKeys,
    tenant_id: str,
    user_id: str,
    actor_id: str,
    change: MembershipChange,
) -> list[TransactWriteItemTypeDef]:
    """Update the tenant roster (first) and the user item (second) in one transaction."""
    tenant_condition, user_condition = change.tenant_condition, change.user_condition
    tenant_values: dict[str, Any] = {":u": {"SS": [user_id]}}
    if ":uid" in tenant_condition:
        tenant_values[":uid"] = {"S": user_id}
    if ":actor" in tenant_condition:
        tenant_values[":actor"] = {"S": actor_id}
    if ":one" in tenant_condition:
        tenant_values[":one"] = {"N": "1"}
    tenant_op: UpdateTypeDef = {
        "TableName": table_name,
        "Key": keys.tenant(tenant_id),
        "UpdateExpression": change.tenant_update,
        "ConditionExpression": tenant_condition,
        "ExpressionAttributeValues": tenant_values,
    }
    if "#pk" in tenant_condition:
        tenant_op["ExpressionAttributeNames"] = {"#pk": keys.partition_key}
    names = {"#m": "memberships", "#t": tenant_id, **change.user_names}
    if "#pk" in user_condition:
        names["#pk"] = keys.partition_key
    user_op: UpdateTypeDef = {
        "TableName": table_name,
        "Key": keys.user(user_id),
        "UpdateExpression": change.user_update,
        "ConditionExpression": user_condition,
        "ExpressionAttributeNames": names,
    }
    if change.user_values:
        user_op["ExpressionAttributeValues"] = change.user_values
    return [{"Update": tenant_op}, {"Update": user_op}]


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
    admins, roster = tenant.admins, tenant.members
    if actor_id not in admins and not (self_allowed and actor_id == user_id):
        return ForbiddenError(f"only a tenant {admin_role} can change its members; ask one of them")
    if user_id not in roster:
        return NotFoundError("this user is not a member of the tenant")
    if user_id in admins and len(admins) <= 1:
        return ConflictError("this is the tenant's last admin; make another member admin first")
    return ConflictError("the membership changed meanwhile; try again")
