"""The tenant of the current request, and the only places it may come from.

The tenant lives in a :class:`contextvars.ContextVar`, set by ``tenant_scope`` (and so
by ``@tenant_handler``) and read by ``current_tenant()``. There is no default tenant:
code that runs outside a scope gets :class:`NoTenantContextError`, never someone's data.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from tenantkit.errors import InvalidTenantIdError, NoTenantContextError, TenantMismatchError

__all__ = [
    "TENANT_ID_PATTERN",
    "TenantContext",
    "authorizer_context",
    "caller_id",
    "current_tenant",
    "current_tenant_or_none",
    "tenant_scope",
    "validate_tenant_id",
]

TENANT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
# \Z, not $: "$" would also accept a trailing newline.
_TENANT_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}\Z", re.ASCII)

_current: ContextVar[TenantContext | None] = ContextVar("tenantkit_tenant", default=None)


def validate_tenant_id(value: object) -> str:
    """Return ``value`` if it is a valid tenant id, else raise ``InvalidTenantIdError``.

    The rules (ASCII, starts alphanumeric, at most 64 characters of ``[A-Za-z0-9_-]``)
    keep ``<tenant>#<key>`` unambiguous. Ids are compared exactly: no case folding or
    Unicode normalisation, so look-alike characters are refused rather than merged.
    """
    if not isinstance(value, str) or not _TENANT_ID_RE.match(value):
        raise InvalidTenantIdError(
            "tenant id must be 1-64 ASCII characters of [A-Za-z0-9_-], starting with a "
            "letter or digit; check where the tenant id came from"
        )
    return value


def _parse_roles(value: object) -> frozenset[str]:
    """Roles arrive as a JSON array string, a comma-separated string, or a list."""
    if value is None or value == "":
        return frozenset()
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError:
                raise NoTenantContextError(
                    "authorizer context 'roles' is not a valid JSON array; "
                    "return roles as a JSON array string"
                ) from None
        else:
            return frozenset(part.strip() for part in text.split(",") if part.strip())
    if isinstance(value, list | tuple | set | frozenset) and all(
        isinstance(role, str) for role in value
    ):
        return frozenset(role for role in value if role)
    raise NoTenantContextError(
        "authorizer context 'roles' must be a list of strings; fix the authorizer"
    )


def _optional_str(value: object) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


def _parse_read_only(value: object) -> bool:
    """``readOnly`` arrives as ``"true"``/``"false"`` (REST turns context values into
    strings) or a boolean (HTTP API keeps them). Anything else is a broken authorizer,
    refused rather than read as writable."""
    if value is None or value == "" or value is False or value == "false":
        return False
    if value is True or value == "true":
        return True
    raise NoTenantContextError(
        'authorizer context \'readOnly\' must be "true" or "false"; fix the authorizer'
    )


@dataclass(frozen=True, slots=True)
class TenantContext:
    """Who is calling and for which tenant. Immutable, validated on construction."""

    tenant_id: str
    user_id: str
    roles: frozenset[str] = field(default_factory=frozenset)
    email: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    request_id: str | None = None
    #: The tenant's tier and table, as the authorizer's tenant record gives them (``None``
    #: when the authorizer runs without tenant records, or for work restored from a tenant
    #: id alone). ``TenantTable``'s placement and metering read them from here.
    tier: str | None = None
    table: str | None = None
    #: True while the tenant is moved between tables (decision 24): ``TenantTable``
    #: refuses its writes with ``TenantReadOnlyError`` (423); reads go on.
    read_only: bool = False

    def __post_init__(self) -> None:
        validate_tenant_id(self.tenant_id)
        if not isinstance(self.read_only, bool):
            # A string "false" would be truthy: say what is wrong instead.
            raise NoTenantContextError("tenant context read_only must be a bool")
        if not isinstance(self.user_id, str) or not self.user_id:
            raise NoTenantContextError("tenant context needs a non-empty user id")
        roles: object = self.roles
        if not isinstance(roles, frozenset):
            # A bare string is iterable too, and would become its letters: "admin" would
            # grant has_role("a").
            if isinstance(roles, str | bytes | Mapping) or not isinstance(roles, Iterable):
                raise NoTenantContextError(
                    "tenant context roles must be a collection of role names, not "
                    f"{type(roles).__name__}"
                )
            roles = frozenset(roles)
            object.__setattr__(self, "roles", roles)
        if not all(isinstance(role, str) and role for role in roles):
            raise NoTenantContextError("tenant context roles must be non-empty strings")

    def has_role(self, *roles: str) -> bool:
        """True if the context holds at least one of ``roles``."""
        return not self.roles.isdisjoint(roles)

    @classmethod
    def from_authorizer(
        cls, authorizer: Mapping[str, Any], *, request_id: str | None = None
    ) -> TenantContext:
        """Build a context from a flat authorizer context (``tenantId``, ``userId``, ...)."""
        tenant_id = authorizer.get("tenantId")
        if tenant_id is None or tenant_id == "":
            raise NoTenantContextError(
                "the authorizer context has no tenantId: the caller has no active tenant; "
                "switch to a tenant you belong to first"
            )
        user_id = _caller(authorizer)
        if user_id is None:
            raise NoTenantContextError("the authorizer context has no userId; fix the authorizer")
        return cls(
            tenant_id=validate_tenant_id(tenant_id),
            user_id=user_id,
            roles=_parse_roles(authorizer.get("roles")),
            email=_optional_str(authorizer.get("email")),
            given_name=_optional_str(authorizer.get("firstName")),
            family_name=_optional_str(authorizer.get("lastName")),
            request_id=request_id,
            tier=_optional_str(authorizer.get("tier")),
            table=_optional_str(authorizer.get("table")),
            read_only=_parse_read_only(authorizer.get("readOnly")),
        )

    @classmethod
    def from_event(cls, event: Mapping[str, Any], lambda_context: Any = None) -> TenantContext:
        """Read the tenant of an API Gateway event from its authorizer context only.

        See :func:`authorizer_context` for where that is. JWT claims, headers, query
        strings, path parameters and bodies are never read. When Lambda's tenant
        isolation mode sets ``lambda_context.tenant_id``, it must agree.
        """
        authorizer = authorizer_context(event)
        if authorizer is None:
            raise NoTenantContextError(
                "the event has no Lambda authorizer context (requestContext.authorizer); "
                "put the tenantkit authorizer in front of this function"
            )
        request_context = event["requestContext"]
        request_id = _optional_str(request_context.get("requestId"))
        ctx = cls.from_authorizer(authorizer, request_id=request_id)
        isolated = getattr(lambda_context, "tenant_id", None)
        if isolated is not None and isolated != ctx.tenant_id:
            raise TenantMismatchError(
                "the Lambda tenant-isolation tenant differs from the authorizer's tenant; "
                "invoke the function with the tenant the authorizer returned"
            )
        return ctx


def authorizer_context(event: object) -> Mapping[str, Any] | None:
    """The Lambda authorizer's context in an API Gateway event, or ``None``.

    The one reader of where API Gateway puts it: ``requestContext.authorizer`` in REST
    (v1) events, ``requestContext.authorizer.lambda`` in HTTP API (v2) events.
    """
    if not isinstance(event, Mapping):
        return None
    request_context = event.get("requestContext")
    if not isinstance(request_context, Mapping):
        return None
    authorizer = request_context.get("authorizer")
    if isinstance(authorizer, Mapping) and event.get("version") == "2.0":
        authorizer = authorizer.get("lambda")
    return authorizer if isinstance(authorizer, Mapping) else None


def caller_id(event: object) -> str | None:
    """The verified caller of an API Gateway event, or ``None`` if nobody is authenticated.

    The one rule: the authorizer context's ``userId``, else its ``principalId`` (which
    API Gateway adds to a REST authorizer's context), and only if it is a non-empty string.
    """
    authorizer = authorizer_context(event)
    return None if authorizer is None else _caller(authorizer)


def _caller(authorizer: Mapping[str, Any]) -> str | None:
    user_id = authorizer.get("userId") or authorizer.get("principalId")
    return user_id if isinstance(user_id, str) and user_id else None


def current_tenant() -> TenantContext:
    """The tenant in scope. Raises ``NoTenantContextError`` when there is none."""
    ctx = _current.get()
    if ctx is None:
        raise NoTenantContextError(
            "no tenant in scope: call this inside @tenant_handler or tenant_scope(ctx)"
        )
    return ctx


def current_tenant_or_none() -> TenantContext | None:
    """The tenant in scope, or ``None``; for logging and diagnostics, not for data access."""
    return _current.get()


@contextmanager
def tenant_scope(ctx: TenantContext) -> Iterator[TenantContext]:
    """Set ``ctx`` as the current tenant; restore the previous one on exit, always."""
    if not isinstance(ctx, TenantContext):
        raise TypeError("tenant_scope() takes a TenantContext")
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)
