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

A tenant is founded ``active`` in a tier. An offboarded tenant leaves its record behind
as a ``deleted`` tombstone, with its claim: (0) and (2) then refuse the id and every
look-alike of it for good, and provisioning refuses a tenant that is offboarding or
deleted, so nothing written for the old owner is ever inherited by a new one.

The count covers foundings, not current memberships: leaving a founded tenant does not
give the allowance back, so found-hand-over-leave cannot mint tenants without limit.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from tenantkit._shared.dynamodb.expressions import IfNotExists
from tenantkit._shared.dynamodb.tenant_status import ACTIVE, SUSPENDED
from tenantkit._shared.dynamodb.transact import Transaction
from tenantkit.auth.records import ControlKeys, folded_tenant_id
from tenantkit.errors import ConflictError, TenantKitError

if TYPE_CHECKING:
    from boto3.dynamodb.conditions import ConditionBase

__all__ = [
    "FOUNDED_COUNT",
    "add_claim",
    "add_founding",
    "add_provisioning",
    "founding_refusal",
    "open_for_members",
]

FOUNDED_COUNT = "foundedTenants"
_OWNER = 1  # position of the founder's (or provisioned user's) update in either transaction


def add_founding(
    tx: Transaction,
    keys: ControlKeys,
    tenant_id: str,
    owner_id: str,
    *,
    admin_role: str,
    cap: int | None,
    tier: str,
) -> None:
    """Add to ``tx`` the writes that found ``tenant_id``, active in ``tier``, with
    ``owner_id`` as its admin."""
    from boto3.dynamodb.conditions import Attr

    owner = {owner_id}
    tx.put(
        {
            **keys.tenant(tenant_id),
            "tenantId": tenant_id,
            "members": owner,
            "admins": owner,
            "createdBy": owner_id,
            "createdAt": int(time.time()),
            "status": ACTIVE,
            "tier": tier,
        },
        if_not_exists=True,
    )
    condition: ConditionBase = Attr(keys.partition_key).exists()
    if cap is not None:
        condition &= Attr(FOUNDED_COUNT).not_exists() | Attr(FOUNDED_COUNT).lt(cap)
    tx.update(
        keys.user(owner_id),
        set={("memberships", tenant_id): {admin_role}, "activeTenant": IfNotExists(tenant_id)},
        add={FOUNDED_COUNT: 1},
        condition=condition,
    )
    add_claim(tx, keys, tenant_id)


def add_provisioning(
    tx: Transaction,
    keys: ControlKeys,
    tenant_id: str,
    user_id: str,
    roles: list[str],
    *,
    admin_role: str,
    tier: str,
) -> None:
    """Add to ``tx`` the writes that give ``user_id`` exactly ``roles`` in ``tenant_id``,
    creating the tenant (active, in ``tier``) if it does not exist."""
    from boto3.dynamodb.conditions import Attr

    user = {user_id}
    admin = admin_role in roles
    tx.update(
        keys.tenant(tenant_id),
        set={
            "tenantId": tenant_id,
            "createdBy": IfNotExists("provisioning"),
            "createdAt": IfNotExists(int(time.time())),
            "tier": IfNotExists(tier),
        },
        add={"members": user, "admins": user} if admin else {"members": user},
        delete=None if admin else {"admins": user},
        condition=open_for_members(),
    )
    tx.update(
        keys.user(user_id),
        set={("memberships", tenant_id): set(roles)},
        condition=Attr(keys.partition_key).exists(),
    )
    add_claim(tx, keys, tenant_id)


def open_for_members() -> ConditionBase:
    """The tenant record's condition for any new membership: the tenant is not being
    offboarded or deleted (a missing record, or one without a status, is open)."""
    from boto3.dynamodb.conditions import Attr

    return Attr("status").not_exists() | Attr("status").is_in([ACTIVE, SUSPENDED])


def add_claim(tx: Transaction, keys: ControlKeys, tenant_id: str) -> None:
    """Claim ``tenant_id`` in all its look-alike forms, unless another holds it (2, 3)."""
    from boto3.dynamodb.conditions import Attr

    tx.update(
        keys.claim(tenant_id),
        set={"tenantId": tenant_id},
        condition=Attr(keys.partition_key).not_exists() | Attr("tenantId").eq(tenant_id),
    )
    folded = folded_tenant_id(tenant_id)
    if folded != tenant_id:
        tx.condition_check(keys.tenant(folded), Attr(keys.partition_key).not_exists())


def founding_refusal(
    failed: tuple[int, ...], owner_refusal: Callable[[], TenantKitError]
) -> TenantKitError:
    """Why a founding or provisioning transaction was cancelled, from the positions of the
    operations whose condition failed (``ConditionFailedError.failed_indexes``).

    ``owner_refusal`` explains a failed condition on the user item (it may read the
    user). A taken id is a ``ConflictError``.
    """
    if 0 in failed:
        return ConflictError(
            "this tenant already exists, or existed and was offboarded (such ids are never "
            "reused); choose another id, or ask one of its admins to add you"
        )
    if any(position > _OWNER for position in failed):
        return ConflictError(
            "a tenant whose id differs from this one only in letter case exists (tenant ids "
            "are unique regardless of case); choose another id, or ask one of its admins"
        )
    return owner_refusal()
