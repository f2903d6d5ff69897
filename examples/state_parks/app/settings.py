"""The users API (control plane): a caller's tenants, roles and active tenant.

These routes are open to every verified caller, including one with no active tenant
yet, so they do not use ``@tenant_handler``. The caller is the ``userId`` the authorizer
put in the request context; a user id in a body names only the *target* of an admin's
change, which ``UserDirectory`` allows only to an admin of that tenant. Nobody joins a
tenant on their own: ``POST /customers`` creates a new tenant, or is refused: 403 if the
id is taken (in any letter case), 429 once the caller has founded
``config.MAX_FOUNDED_TENANTS_PER_USER`` tenants.
"""

from __future__ import annotations

from contextlib import suppress
from typing import TYPE_CHECKING

import config
from models import ActiveTenant, NewCustomer, NewMember, RoleChange
from web import (
    Event,
    RequestError,
    Response,
    authorizer_value,
    caller_id,
    dispatch,
    no_content,
    parse_body,
    path_param,
)

from tenantkit.errors import ConflictError, ForbiddenError
from tenantkit.handlers import json_response

if TYPE_CHECKING:
    from tenantkit.auth import UserRecord


def caller(event: Event) -> UserRecord:
    """The caller's record, created from the token's claims on their first call."""
    users = config.user_directory()
    user_id = caller_id(event)
    record = users.get_user(user_id)
    if record is None:
        with suppress(ConflictError):  # a concurrent first call may have created it
            users.create_user(
                user_id,
                email=authorizer_value(event, "email"),
                given_name=authorizer_value(event, "firstName"),
                family_name=authorizer_value(event, "lastName"),
            )
        record = users.get_user(user_id)
        if record is None:
            raise RequestError(500, "Internal error")
    return record


def get_settings(event: Event) -> Response:
    user = caller(event)
    active = user.active_tenant
    roles = sorted(user.memberships.get(active, ())) if active else []
    return json_response(200, {"active": {"customerId": active, "roles": roles}})


def put_settings(event: Event) -> Response:
    body = parse_body(event, ActiveTenant)
    user = caller(event)
    config.user_directory().set_active_tenant(user.user_id, body.customerId)
    return no_content()


def list_customers(event: Event) -> Response:
    user = caller(event)
    items = [
        {"id": tenant, "roles": sorted(roles)} for tenant, roles in sorted(user.memberships.items())
    ]
    return json_response(200, {"items": items})


def create_customer(event: Event) -> Response:
    body = parse_body(event, NewCustomer)
    user = caller(event)
    users = config.user_directory()
    try:
        users.create_tenant(body.id, owner_id=user.user_id)
    except ConflictError as taken:
        # Joining an existing tenant takes an invitation from one of its admins. The
        # message says whether the id exists or differs from one only in letter case.
        raise ForbiddenError(str(taken)) from None
    if body.makeActive:
        users.set_active_tenant(user.user_id, body.id)
    return json_response(201, {"id": body.id})


def add_member(event: Event) -> Response:
    tenant_id = path_param(event, "customerId")
    body = parse_body(event, NewMember)
    actor = caller(event)
    config.user_directory().add_member(tenant_id, body.userId, body.roles, actor_id=actor.user_id)
    return no_content()


def set_roles(event: Event) -> Response:
    tenant_id = path_param(event, "customerId")
    body = parse_body(event, RoleChange)
    actor = caller(event)
    target = body.userId or actor.user_id
    config.user_directory().set_roles(tenant_id, target, body.roles, actor_id=actor.user_id)
    return no_content()


ROUTES = {
    ("GET", "/settings"): get_settings,
    ("PUT", "/settings"): put_settings,
    ("GET", "/customers"): list_customers,
    ("POST", "/customers"): create_customer,
    ("POST", "/customers/{customerId}/members"): add_member,
    ("PUT", "/customers/{customerId}/roles"): set_roles,
}


def handler(event: Event, context: object) -> Response:
    return dispatch(event, ROUTES)
