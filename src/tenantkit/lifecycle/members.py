"""Ending every membership of a tenant that is being offboarded.

``UserDirectory.remove_member`` keeps a tenant's last admin, because a tenant in use
must never be left without one. Offboarding ends the tenant, so it removes everyone,
the last admin too, through the same two records and the same kind of transaction: the
roster loses the user and the user item loses the membership, and the active tenant if
it was this one (conditioned on what was read, so a concurrent switch is retried, never
overwritten).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tenantkit._shared.backoff import Backoff
from tenantkit._shared.dynamodb.control_plane import ControlPlaneStore
from tenantkit._shared.dynamodb.expressions import UpdatePath
from tenantkit.auth.records import ControlKeys
from tenantkit.errors import ConditionFailedError, ConflictError

if TYPE_CHECKING:
    from boto3.dynamodb.conditions import ConditionBase

__all__ = ["members_of", "remove_member"]

_ATTEMPTS = 5
_ACTIVE = "activeTenant"


def members_of(store: ControlPlaneStore, keys: ControlKeys, tenant: str) -> list[str]:
    """Every user on the tenant's roster (members and admins), sorted."""
    item = store.get(keys.tenant(tenant), consistent=True) or {}
    names: set[str] = set()
    for attribute in ("members", "admins"):
        value = item.get(attribute)
        if isinstance(value, set):
            names.update(value)
    return sorted(names)


def remove_member(
    store: ControlPlaneStore, keys: ControlKeys, tenant: str, user: str, backoff: Backoff
) -> None:
    """Take ``user`` off the roster and the membership off the user, in one transaction."""
    from boto3.dynamodb.conditions import Attr

    for attempt in range(_ATTEMPTS):
        if attempt:
            backoff.wait(attempt - 1)
        record: dict[str, Any] | None = store.get(keys.user(user), consistent=True)
        try:
            with store.transaction() as tx:
                tx.update(keys.tenant(tenant), delete={"members": {user}, "admins": {user}})
                if record is not None and isinstance(record.get("memberships"), dict):
                    removed: list[UpdatePath] = [("memberships", tenant)]
                    condition: ConditionBase
                    if record.get(_ACTIVE) == tenant:
                        removed.append(_ACTIVE)
                        condition = Attr(_ACTIVE).eq(tenant)
                    else:
                        condition = Attr(_ACTIVE).not_exists() | Attr(_ACTIVE).ne(tenant)
                    tx.update(keys.user(user), remove=removed, condition=condition)
        except (ConditionFailedError, ConflictError):
            continue  # the user switched tenants meanwhile: read again
        return
    raise ConflictError(f"user {user!r} kept changing; run the offboarding again")
