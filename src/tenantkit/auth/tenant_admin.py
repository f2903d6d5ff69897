"""Operator and tenant-admin actions on a tenant's status, tier and placement.

Who may do what:

==================  ==========  ==============================================
action              operator    a tenant admin (``Member`` holding the role)
==================  ==========  ==============================================
suspend             yes         yes
resume              yes         only a suspension by a tenant admin
mark_offboarding    yes         yes, unless an operator suspended it
set_tier            yes         no: tiers are billing's decision
tombstone           yes         no
set_read_only       yes         no (the ``move`` tool's)
set_placement       yes         no (the ``move`` tool's)
==================  ==========  ==============================================

An :class:`Operator` is trusted code acting on its own authority: the
``tenantkit tenant`` CLI, a back-office tool, a billing job. Whoever can run it with
write access to the table is an operator, so IAM is the gate, as for
``UserDirectory.provision_membership``; its ``name`` says who for the audit log. Never
build an ``Operator`` from a request: an API handler passes the caller as a
:class:`Member`, whose admin role is checked in the same conditional write that changes
the record, so a demotion racing the action cannot slip past it. Everyone else gets a
``ForbiddenError`` (403); an action the tenant's status does not allow (resuming a
deleted tenant) is a ``ConflictError`` (409).

A suspension records who suspended (``suspendedBy``). An operator's suspension is a hold
(unpaid bills, abuse): a tenant admin can neither lift it, nor turn it into their own by
suspending again, nor turn it into offboarding, which no one could resume from.

Each attempt is one JSON line on the ``tenantkit.audit`` logger: actor, tenant, action,
outcome (``done``, ``refused`` or ``failed``) and why.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tenantkit._shared.clients import ClientOptions
from tenantkit._shared.dynamodb.expressions import UpdatePath
from tenantkit._shared.dynamodb.names import validate_table_name
from tenantkit._shared.dynamodb.tenant_status import (
    ACTIVE,
    DELETED,
    OFFBOARDING,
    SUSPENDED,
    TenantStatus,
    tenant_status,
)
from tenantkit.auth.records import ControlKeys, validate_tier, validate_user_id
from tenantkit.auth.usage_plans import UsagePlans, record_usage_key
from tenantkit.context import validate_tenant_id
from tenantkit.errors import (
    ConditionFailedError,
    ConfigurationError,
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    TenantKitError,
    aws_error_code,
)

if TYPE_CHECKING:
    import boto3
    from boto3.dynamodb.conditions import ConditionBase
    from botocore.config import Config

__all__ = ["Actor", "Member", "Operator", "TenantAdmin", "audit_log"]

audit_log = logging.getLogger("tenantkit.audit")

_OPEN = (ACTIVE, SUSPENDED)
_BY_OPERATOR, _BY_ADMIN = "operator", "admin"


@dataclass(frozen=True, slots=True)
class Operator:
    """Trusted code acting on its own authority; ``name`` says who, for the audit log."""

    name: str


@dataclass(frozen=True, slots=True)
class Member:
    """A tenant member acting through the app; must hold the admin role in the tenant."""

    user_id: str


Actor = Operator | Member


@dataclass(frozen=True, slots=True)
class _Action:
    name: str
    allowed_from: tuple[str, ...]
    members_may: bool


_SUSPEND = _Action("suspend", _OPEN, True)
_RESUME = _Action("resume", _OPEN, True)
_OFFBOARD = _Action("mark-offboarding", (*_OPEN, OFFBOARDING), True)
_TOMBSTONE = _Action("tombstone", (OFFBOARDING, DELETED), False)
_SET_TIER = _Action("set-tier", _OPEN, False)
_READ_ONLY = _Action("set-read-only", _OPEN, False)
_PLACEMENT = _Action("set-placement", (*_OPEN, OFFBOARDING), False)


class TenantAdmin:
    """Change tenants' status, tier and placement; see the module docstring for who may.

    Every method returns the tenant's :class:`TenantStatus` after the change. Authorizers
    and consumers see a change within their status cache's TTL. With ``usage_plans``,
    ``set_tier`` moves the tenant's API key to the new tier's plan (creating the key if
    the tenant has none) and ``tombstone`` deletes it.
    """

    #: The wall clock for ``statusChangedAt``; replaceable in tests.
    clock: Callable[[], float] = staticmethod(time.time)

    def __init__(
        self,
        table_name: str,
        *,
        client: Any = None,
        boto3_session: boto3.session.Session | None = None,
        boto_config: Config | None = None,
        partition_key: str = "pk",
        sort_key: str = "sk",
        pool_table: str | None = None,
        usage_plans: UsagePlans | None = None,
    ) -> None:
        if not table_name:
            raise ConfigurationError("TenantAdmin needs the table name")
        self._keys = ControlKeys(partition_key, sort_key)
        self._pool = pool_table or table_name
        self.usage_plans = usage_plans
        self._store = self._keys.store(
            table_name,
            ClientOptions(
                "dynamodb", client=client, boto3_session=boto3_session, boto_config=boto_config
            ),
        )
        if audit_log.level == logging.NOTSET:
            audit_log.setLevel(logging.INFO)  # every operator action is logged

    # -- reading -----------------------------------------------------------------------

    def get(self, tenant_id: str) -> TenantStatus | None:
        """The tenant's status now (a strongly consistent read), or ``None``."""
        validate_tenant_id(tenant_id)
        item = self._store.get(self._keys.tenant(tenant_id), consistent=True)
        return None if item is None else tenant_status(tenant_id, item, pool_table=self._pool)

    # -- actions -----------------------------------------------------------------------

    def suspend(self, tenant_id: str, *, actor: Actor) -> TenantStatus:
        """Suspend the tenant: its members keep only the ``authenticated`` routes."""
        by = _BY_OPERATOR if isinstance(actor, Operator) else _BY_ADMIN
        return self._change(
            _SUSPEND, tenant_id, actor, set={"status": SUSPENDED, "suspendedBy": by}
        )

    def resume(self, tenant_id: str, *, actor: Actor) -> TenantStatus:
        """Make a suspended tenant active again."""
        return self._change(
            _RESUME, tenant_id, actor, set={"status": ACTIVE}, remove=("suspendedBy",)
        )

    def mark_offboarding(self, tenant_id: str, *, actor: Actor) -> TenantStatus:
        """Mark the tenant as leaving: its routes close and no new members join.

        Deleting its data is the offboarding tool's job (``tenantkit.lifecycle``), which
        ends with :meth:`tombstone`. There is no way back from here.
        """
        return self._change(_OFFBOARD, tenant_id, actor, set={"status": OFFBOARDING})

    def tombstone(self, tenant_id: str, *, actor: Actor) -> TenantStatus:
        """Mark an offboarded tenant ``deleted``, for good: the record and the id's claim
        stay, so neither the id nor a look-alike of it can be founded again."""
        done = self._change(_TOMBSTONE, tenant_id, actor, set={"status": DELETED})
        item = self._store.get(self._keys.tenant(tenant_id), consistent=True) or {}
        key_id = item.get("apiKeyId")
        plans = self.usage_plans
        if isinstance(key_id, str) and plans is not None:
            self._usage_step(_TOMBSTONE, tenant_id, actor, lambda: _delete_key(plans, key_id))
            self._store.update(self._keys.tenant(tenant_id), remove=("apiKeyId", "apiKey"))
        return done

    def set_tier(self, tenant_id: str, tier: str, *, actor: Actor) -> TenantStatus:
        """Put the tenant in ``tier`` (and its API key in that tier's usage plan).

        Running it again with the same tier finishes a change whose key move failed,
        and gives a key to a tenant founded without one (the key a killed run created,
        if there is one: ``UsagePlans.create_key`` finds it).
        """
        validate_tier(tier)
        if self.usage_plans is not None:
            self.usage_plans.check_tier(tier)
        done = self._change(_SET_TIER, tenant_id, actor, set={"tier": tier})
        plans = self.usage_plans
        if plans is not None:
            item = self._store.get(self._keys.tenant(tenant_id), consistent=True) or {}
            key_id = item.get("apiKeyId")
            if isinstance(key_id, str):
                self._usage_step(_SET_TIER, tenant_id, actor, lambda: plans.attach(key_id, tier))
            else:
                key = self._usage_step(
                    _SET_TIER, tenant_id, actor, lambda: plans.create_key(tenant_id, tier)
                )
                record_usage_key(self._store, self._keys, tenant_id, key)
                done = self.get(tenant_id) or done
        return done

    def set_read_only(self, tenant_id: str, read_only: bool, *, actor: Actor) -> TenantStatus:
        """Mark the tenant read-only while it moves (the authorizer keeps read routes
        only, writers get ``TenantReadOnlyError``), or writable again."""
        if read_only:
            return self._change(_READ_ONLY, tenant_id, actor, set={"readOnly": True})
        return self._change(_READ_ONLY, tenant_id, actor, remove=("readOnly",))

    def set_placement(self, tenant_id: str, table: str | None, *, actor: Actor) -> TenantStatus:
        """Place the tenant's items in ``table`` (its silo), or back in the pool (``None``)."""
        if table is None or table == self._pool:
            return self._change(_PLACEMENT, tenant_id, actor, remove=("table",))
        validate_table_name(table)  # the grammar Placement routes by, or every request 500s
        return self._change(_PLACEMENT, tenant_id, actor, set={"table": table})

    # -- the one write -----------------------------------------------------------------

    def _change(
        self,
        action: _Action,
        tenant_id: str,
        actor: Actor,
        *,
        set: Mapping[UpdatePath, object] | None = None,
        remove: tuple[str, ...] = (),
    ) -> TenantStatus:
        """One conditional update: the tenant exists, its status allows ``action``, and a
        member actor is its admin now (and not acting over an operator's suspension)."""
        validate_tenant_id(tenant_id)
        who = _actor_name(actor)
        if isinstance(actor, Member) and not action.members_may:
            refusal: TenantKitError = ForbiddenError(
                f"only an operator may {action.name.replace('-', ' ')} a tenant"
            )
            _audit(action, tenant_id, actor, who, "refused", str(refusal))
            raise refusal
        values: dict[UpdatePath, object] = dict(set or {})
        values["statusChangedBy"] = who
        values["statusChangedAt"] = int(self.clock())
        try:
            item = self._store.update(
                self._keys.tenant(tenant_id),
                set=values,
                remove=remove or None,
                condition=self._condition(action, actor),
            )
        except ConditionFailedError:
            refusal = self._refusal(action, tenant_id, actor)
            _audit(action, tenant_id, actor, who, "refused", str(refusal))
            raise refusal from None
        except Exception as error:
            _audit(action, tenant_id, actor, who, "failed", type(error).__name__)
            raise
        done = tenant_status(tenant_id, item, pool_table=self._pool)
        _audit(action, tenant_id, actor, who, "done", f"status {done.status}, tier {done.tier}")
        return done

    def _condition(self, action: _Action, actor: Actor) -> ConditionBase:
        from boto3.dynamodb.conditions import Attr

        condition = Attr(self._keys.partition_key).exists() & _status_in(action.allowed_from)
        if isinstance(actor, Member):
            condition &= Attr("admins").contains(actor.user_id)
            # An operator's suspension is a hold: no member action may lift or override it.
            condition &= Attr("suspendedBy").not_exists() | Attr("suspendedBy").eq(_BY_ADMIN)
        return condition

    def _refusal(self, action: _Action, tenant_id: str, actor: Actor) -> TenantKitError:
        """Why the conditional update was refused, from the record read after."""
        item = self._store.get(self._keys.tenant(tenant_id), consistent=True)
        if item is None:
            return NotFoundError("no such tenant")
        if isinstance(actor, Member):
            admins = item.get("admins")
            if not (isinstance(admins, set) and actor.user_id in admins):
                return ForbiddenError("only the tenant's admins or an operator may do this")
            if item.get("suspendedBy") == _BY_OPERATOR:
                return ForbiddenError(
                    "an operator suspended this tenant; only an operator may resume or offboard it"
                )
        status = tenant_status(tenant_id, item, pool_table=self._pool).status
        if status not in action.allowed_from:
            return ConflictError(f"the tenant is {status}; it cannot {action.name}")
        return ConditionFailedError("the tenant changed meanwhile; try again")

    def _usage_step(
        self, action: _Action, tenant_id: str, actor: Actor, step: Callable[[], Any]
    ) -> Any:
        """Run one API Gateway call of an action, auditing its failure."""
        try:
            return step()
        except Exception as error:
            _audit(
                action,
                tenant_id,
                actor,
                _actor_name(actor),
                "failed",
                f"usage key: {type(error).__name__}; run the action again to finish it",
            )
            raise


def _delete_key(plans: UsagePlans, key_id: str) -> None:
    try:
        plans.delete_key(key_id)
    except Exception as error:
        if aws_error_code(error) != "NotFoundException":  # deleted by an earlier run
            raise


def _status_in(statuses: tuple[str, ...]) -> ConditionBase:
    """The record's status is one of ``statuses`` (a record without one is active)."""
    from boto3.dynamodb.conditions import Attr

    condition = Attr("status").is_in(list(statuses))
    return condition | Attr("status").not_exists() if ACTIVE in statuses else condition


def _actor_name(actor: Actor) -> str:
    if isinstance(actor, Operator):
        return f"operator:{validate_user_id(actor.name)}"
    if isinstance(actor, Member):
        return f"user:{validate_user_id(actor.user_id)}"
    raise InvalidInputError("the actor is an Operator or a Member")


def _audit(
    action: _Action, tenant_id: str, actor: Actor, who: str, outcome: str, detail: str
) -> None:
    """One JSON line per attempt, refused and failed ones too."""
    level = logging.INFO if outcome == "done" else logging.WARNING
    audit_log.log(
        level,
        json.dumps(
            {
                "message": "tenant admin action",
                "action": action.name,
                "tenant": tenant_id,
                "actor": who,
                "actorKind": "operator" if isinstance(actor, Operator) else "member",
                "outcome": outcome,
                "detail": detail,
            }
        ),
    )
