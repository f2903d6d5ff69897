"""Founding a tenant: one transaction, so that no limit on it can be raced.

Every tenant a user founds may hold topics, subscriptions and data that the whole
account shares quotas for, so a founding is checked in the same DynamoDB transaction
that writes it, never by a read beforehand that a concurrent founding could slip past.
The transaction writes, all or nothing:

0. the tenant item, if no tenant has exactly this id;
1. the founder's user item: the admin membership, the active tenant if they had none,
   and ``foundedTenants`` raised by one while it is below the cap;
2. the claim item of the lowercased id, if it is free or already this id's, so that
   ``Texas`` cannot be founded beside ``texas``;
3. for an id with capitals, a check that no tenant item has the lowercased id, since
   tenants founded before claims existed have no claim item.

Trusted provisioning creates tenants too; it writes the same claim and check (2, 3), so
it never makes a case-variant either, and re-provisioning a tenant from before claims
existed claims its id.

The count covers foundings, not current memberships: leaving a founded tenant does not
give the allowance back, so found-hand-over-leave cannot mint tenants without limit.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tenantkit.auth.records import ControlKeys
from tenantkit.errors import ConditionFailedError, ConflictError, TenantKitError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

__all__ = [
    "FOUNDED_COUNT",
    "claim_items",
    "founding_items",
    "founding_refusal",
    "provisioning_items",
]

FOUNDED_COUNT = "foundedTenants"
_OWNER = 1  # position of the founder's (or provisioned user's) update in either transaction
_FAILED = "ConditionalCheckFailed"


def founding_items(
    table_name: str,
    keys: ControlKeys,
    tenant_id: str,
    owner_id: str,
    *,
    admin_role: str,
    cap: int | None,
) -> list[TransactWriteItemTypeDef]:
    """The transaction that founds ``tenant_id`` with ``owner_id`` as its admin."""
    owner = {"SS": [owner_id]}
    condition = "attribute_exists(#pk)"
    values: dict[str, Any] = {
        ":roles": {"SS": [admin_role]},
        ":t": {"S": tenant_id},
        ":one": {"N": "1"},
    }
    if cap is not None:
        condition += " AND (attribute_not_exists(#f) OR #f < :cap)"
        values[":cap"] = {"N": str(cap)}
    return [
        {
            "Put": {
                "TableName": table_name,
                "Item": {
                    **keys.tenant(tenant_id),
                    "tenantId": {"S": tenant_id},
                    "members": owner,
                    "admins": owner,
                    "createdBy": {"S": owner_id},
                    "createdAt": {"N": str(int(time.time()))},
                },
                "ConditionExpression": "attribute_not_exists(#pk)",
                "ExpressionAttributeNames": {"#pk": keys.partition_key},
            }
        },
        {
            "Update": {
                "TableName": table_name,
                "Key": keys.user(owner_id),
                "UpdateExpression": "SET #m.#t = :roles, #a = if_not_exists(#a, :t) ADD #f :one",
                "ConditionExpression": condition,
                "ExpressionAttributeNames": {
                    "#pk": keys.partition_key,
                    "#m": "memberships",
                    "#t": tenant_id,
                    "#a": "activeTenant",
                    "#f": FOUNDED_COUNT,
                },
                "ExpressionAttributeValues": values,
            }
        },
        *claim_items(table_name, keys, tenant_id),
    ]


def provisioning_items(
    table_name: str,
    keys: ControlKeys,
    tenant_id: str,
    user_id: str,
    roles: list[str],
    *,
    admin_role: str,
) -> list[TransactWriteItemTypeDef]:
    """The transaction that gives ``user_id`` exactly ``roles`` in ``tenant_id``, creating it."""
    roster = (
        "ADD members :u, admins :u" if admin_role in roles else "ADD members :u DELETE admins :u"
    )
    return [
        {
            "Update": {
                "TableName": table_name,
                "Key": keys.tenant(tenant_id),
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
                "TableName": table_name,
                "Key": keys.user(user_id),
                "UpdateExpression": "SET #m.#t = :roles",
                "ConditionExpression": "attribute_exists(#pk)",
                "ExpressionAttributeNames": {
                    "#pk": keys.partition_key,
                    "#m": "memberships",
                    "#t": tenant_id,
                },
                "ExpressionAttributeValues": {":roles": {"SS": roles}},
            }
        },
        *claim_items(table_name, keys, tenant_id),
    ]


def claim_items(
    table_name: str, keys: ControlKeys, tenant_id: str
) -> list[TransactWriteItemTypeDef]:
    """Claim ``tenant_id`` in every letter case, unless another spelling holds it (2, 3)."""
    items: list[TransactWriteItemTypeDef] = [
        {
            "Update": {
                "TableName": table_name,
                "Key": keys.claim(tenant_id),
                "UpdateExpression": "SET tenantId = :t",
                "ConditionExpression": "attribute_not_exists(#pk) OR tenantId = :t",
                "ExpressionAttributeNames": {"#pk": keys.partition_key},
                "ExpressionAttributeValues": {":t": {"S": tenant_id}},
            }
        }
    ]
    if tenant_id.lower() != tenant_id:
        items.append(
            {
                "ConditionCheck": {
                    "TableName": table_name,
                    "Key": keys.tenant(tenant_id.lower()),
                    "ConditionExpression": "attribute_not_exists(#pk)",
                    "ExpressionAttributeNames": {"#pk": keys.partition_key},
                }
            }
        )
    return items


def founding_refusal(
    codes: list[str], owner_refusal: Callable[[], TenantKitError]
) -> TenantKitError | None:
    """Why a founding or provisioning transaction was cancelled, from its reason codes.

    ``owner_refusal`` explains a failed condition on the user item (it may read the
    user). A taken id is a ``ConflictError``; a concurrent transaction, which is worth
    retrying, a ``ConditionFailedError``. ``None`` when the codes name no reason known
    here: the caller re-raises.
    """
    failed = [position for position, code in enumerate(codes) if code == _FAILED]
    if 0 in failed:
        return ConflictError(
            "this tenant already exists; choose another id, or ask one of its admins to add you"
        )
    if any(position > _OWNER for position in failed):
        return ConflictError(
            "a tenant whose id differs from this one only in letter case exists (tenant ids "
            "are unique regardless of case); choose another id, or ask one of its admins"
        )
    if _OWNER in failed:
        return owner_refusal()
    if "TransactionConflict" in codes:  # a race, not a taken id: a 409 to retry
        return ConditionFailedError(
            "another change to this tenant or user ran at the same time; try again"
        )
    return None
