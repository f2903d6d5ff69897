"""The API Gateway Lambda authorizer: token in, user record loaded, policy and context out.

One authorization is: verify the bearer token (cached per token), read the caller's user
record (one DynamoDB ``GetItem``, then cached ``user_ttl`` seconds per container), take
the roles of their *active* tenant from it, read that tenant's status, tier and
placement (with ``tenants``, a cache such as ``TenantStatusCache``: one ``GetItem`` per
tenant per its TTL), and compile the roles into a policy (memoised). The tenant comes
only from the user record: tenant claims in the token, ``X-Tenant-Id`` headers, query
strings and bodies are never read. A membership revoked, a tenant switched or suspended
takes effect within API Gateway's result TTL plus these caches' TTL (docs/lifecycle.md).

Responses:

* REST v1 ``TOKEN``/``REQUEST`` events: ``principalId``, ``policyDocument`` covering every
  route the caller may call, and a flat ``context`` (``userId``, ``tenantId``, ``roles``
  as a JSON array string, ``email``, ``firstName``, ``lastName``; empty keys omitted;
  the names come from the user record, or for a user with no record yet from the token's
  ``email``, ``given_name`` and ``family_name`` claims), which is what
  :meth:`tenantkit.TenantContext.from_event` reads. With ``tenants``, the context also
  carries ``tier``, ``table`` (the pool table unless the tenant has a silo) and, while
  the tenant moves, ``readOnly`` (``"true"``); a caller whose tenant is not active gets
  ``tenantStatus`` instead of ``tenantId``. When the tenant has an API key, the response
  carries it as ``usageIdentifierKey`` (usage plans per tier). A bad or missing token raises
  ``Exception("Unauthorized")``, which API Gateway answers with 401.
* HTTP API v2 events: ``{"isAuthorized": bool, "context": {...}}`` decided for the
  ``routeKey`` (API Gateway answers ``False`` with 403; a v2 authorizer cannot ask for
  401), or with ``simple_responses=False`` the IAM-policy response built from ``routeArn``.

A verified user with no record, no active tenant, an active tenant that is not among
their memberships, or one that is not active (:mod:`tenantkit.auth.access`) gets only
the role map's ``authenticated`` routes and no ``tenantId``; a tenant being moved keeps
its read routes only.
A DynamoDB failure, or any error that is not the caller's (a bad token, a subject that is
no user id, an unusable ARN), is logged and re-raised: API Gateway answers 500 and caches
nothing, so access fails closed.

Each decision is logged as one JSON line on the ``tenantkit.auth.decisions`` logger
(user, tenant, outcome, reason), never with the token.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from tenantkit._shared.cache import LruCache
from tenantkit.auth.access import (
    READ_METHODS,
    Access,
    TenantStatusSource,
    deny_writes,
    resolve_access,
)
from tenantkit.auth.records import UserRecord
from tenantkit.auth.rolemap import ApiArn, RoleMap
from tenantkit.auth.verifier import TokenVerifier
from tenantkit.errors import ConfigurationError, InvalidInputError, UnauthorizedError

__all__ = ["DEFAULT_USER_TTL", "LambdaAuthorizer", "UserSource"]

decision_log = logging.getLogger("tenantkit.auth.decisions")


_json_string = json.encoder.encode_basestring_ascii
_MAX_PROFILE_CHARS = 256
#: Seconds a user record is kept per container; see the module docstring.
DEFAULT_USER_TTL = 60.0
DEFAULT_USER_CACHE_SIZE = 10_000
_ROLES_JSON: LruCache[frozenset[str], str] = LruCache(1024)


def _roles_json(roles: frozenset[str]) -> str:
    """``roles`` as the JSON array string the context carries (memoised per role set)."""
    text = _ROLES_JSON.get(roles)
    if text is None:
        text = json.dumps(sorted(roles))
        _ROLES_JSON.put(roles, text)
    return text


def _tenant_context(user_id: str, access: Access) -> dict[str, str]:
    """The context's user and tenant keys (contract: ``tenantId``, ``roles``, ``tier``,
    ``table``; ``readOnly`` while the tenant moves; ``tenantStatus`` when it is not active)."""
    context = {"userId": user_id}
    status = access.status
    if access.tenant_id is not None:
        context["tenantId"] = access.tenant_id
        context["roles"] = _roles_json(access.roles)
        if status is not None:
            context["tier"] = status.tier
            context["table"] = status.table
            if status.read_only:
                context["readOnly"] = "true"
    elif access.named_tenant is not None and status is not None:
        context["tenantStatus"] = status.status
    return context


def _arn_method(arn: str) -> str:
    """The HTTP method of a ``methodArn``/``routeArn`` (already parsed by the policy)."""
    parts = arn.split(":", 5)[-1].split("/")
    return parts[2] if len(parts) > 2 else ""


def _v2_method(event: Mapping[str, Any], route_key: str) -> str:
    """The request's method: HTTP API's ``requestContext.http.method`` (``$default`` and
    ``ANY`` routes name none), else the route key's."""
    http = event.get("requestContext")
    http = http.get("http") if isinstance(http, Mapping) else None
    method = http.get("method") if isinstance(http, Mapping) else None
    return method.upper() if isinstance(method, str) else route_key.split(" ", 1)[0]


class UserSource(Protocol):
    """Where the authorizer reads user records; :class:`UserDirectory` is one."""

    def get_user(self, user_id: str) -> UserRecord | None: ...


def _single(values: list[object], what: str) -> str | None:
    if len(values) > 1:
        raise UnauthorizedError(f"the request has more than one {what}; send exactly one")
    if not values:
        return None
    value = values[0]
    return value if isinstance(value, str) else None


def authorization_value(event: Mapping[str, Any]) -> str | None:
    """The one ``Authorization`` value of an authorizer event; duplicates are refused."""
    if event.get("type") == "TOKEN":
        token = event.get("authorizationToken")
        return token if isinstance(token, str) else None
    headers = event.get("headers")
    headers = headers if isinstance(headers, Mapping) else {}
    values: list[object] = [v for k, v in headers.items() if str(k).lower() == "authorization"]
    if event.get("version") == "2.0":
        if not values:
            source = event.get("identitySource")
            values = list(source) if isinstance(source, list) else []
        value = _single(values, "Authorization value")
        if value is not None and "," in value:
            # HTTP API joins repeated headers with commas.
            raise UnauthorizedError("the request has more than one Authorization header")
        return value
    multi = event.get("multiValueHeaders")
    multi = multi if isinstance(multi, Mapping) else {}
    repeated: list[object] = []
    for name, items in multi.items():
        if str(name).lower() == "authorization":
            repeated.extend(items if isinstance(items, list) else [items])
    value = _single(values, "Authorization header")
    repeated_value = _single(repeated, "Authorization header")
    if value is not None and repeated_value is not None and value != repeated_value:
        raise UnauthorizedError("the request has more than one Authorization header")
    return value if value is not None else repeated_value


class LambdaAuthorizer:
    """API Gateway Lambda authorizer; construct once at module level, call per event.

    ``tenants`` reads tenant statuses (a ``TenantStatusCache``); without it every tenant
    counts as active and the context has no ``tier`` or ``table``. User records are kept
    ``user_ttl`` seconds, at most ``user_cache_size`` of them, on ``clock``.
    """

    def __init__(
        self,
        *,
        verifier: TokenVerifier,
        users: UserSource,
        roles: RoleMap,
        tenants: TenantStatusSource | None = None,
        simple_responses: bool = True,
        user_ttl: float = DEFAULT_USER_TTL,
        user_cache_size: int = DEFAULT_USER_CACHE_SIZE,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if not (user_ttl >= 0 and user_cache_size >= 0):
            raise ConfigurationError("user_ttl and user_cache_size must be >= 0 (0: no cache)")
        self.verifier = verifier
        self.users = users
        self.roles = roles
        self.tenants = tenants
        self.simple_responses = simple_responses
        self._users: LruCache[str, tuple[UserRecord | None]] = LruCache(
            user_cache_size if user_ttl > 0 else 0, ttl=user_ttl, clock=clock
        )
        if decision_log.level == logging.NOTSET:
            decision_log.setLevel(logging.INFO)  # every decision is logged, allows too

    def __call__(self, event: Mapping[str, Any], context: object = None) -> dict[str, Any]:
        if not isinstance(event, Mapping):
            self._log("unauthorized", None, None, "the event is not an authorizer event")
            raise Exception("Unauthorized")  # API Gateway's 401 contract
        is_v2 = event.get("version") == "2.0"
        user_id: str | None = None
        try:
            verified = self.verifier.verify(authorization_value(event))
            user_id = verified.subject
            user = self._user(user_id)
        except (UnauthorizedError, InvalidInputError) as error:  # the token's fault: 401
            reason = str(error) if isinstance(error, UnauthorizedError) else "unusable subject"
            self._log("unauthorized", None, None, reason)
            if is_v2:
                return self._refuse_v2(event)
            raise Exception("Unauthorized") from None  # API Gateway answers 401
        except Exception as error:
            self._log("error", user_id, None, f"user lookup failed: {type(error).__name__}")
            raise

        try:
            access = resolve_access(user, self.tenants)
        except Exception as error:
            self._log("error", user_id, None, f"tenant lookup failed: {type(error).__name__}")
            raise
        tenant_id, held, reason = access.tenant_id, access.roles, access.reason
        logged_tenant = access.named_tenant
        response_context = _tenant_context(user_id, access)
        # Names come from the user record; a user without one yet gets them from the
        # verified token, so the app can create their record on the first call.
        claims = verified.claims
        for key, stored, claim in (
            ("email", user and user.email, "email"),
            ("firstName", user and user.given_name, "given_name"),
            ("lastName", user and user.family_name, "family_name"),
        ):
            value = stored if user is not None else claims.get(claim)
            if isinstance(value, str) and 0 < len(value) <= _MAX_PROFILE_CHARS:
                response_context[key] = value

        if is_v2 and self.simple_responses:
            route_key = event.get("routeKey")
            allowed = isinstance(route_key, str) and self.roles.allows(held, route_key)
            if (
                allowed
                and access.read_only
                and _v2_method(event, str(route_key)) not in READ_METHODS
            ):
                allowed, reason = False, "writes wait while the tenant moves"
            self._log("allow" if allowed else "deny", user_id, logged_tenant, reason)
            return {"isAuthorized": allowed, "context": response_context}

        arn = event.get("routeArn") if is_v2 else event.get("methodArn")
        try:
            policy = self.roles.policy(held, arn)  # type: ignore[arg-type]
            if access.read_only:
                policy = deny_writes(policy, ApiArn.parse(arn).prefix)
        except InvalidInputError:
            self._log("unauthorized", user_id, tenant_id, "the event has no usable ARN")
            if is_v2:
                return self._refuse_v2(event)
            raise Exception("Unauthorized") from None  # API Gateway answers 401
        except Exception as error:
            self._log("error", user_id, tenant_id, f"policy failed: {type(error).__name__}")
            raise
        allowed = self.roles.invocation_allowed(held, str(arn))
        if allowed and access.read_only and _arn_method(str(arn)) not in READ_METHODS:
            allowed, reason = False, "writes wait while the tenant moves"
        self._log("allow" if allowed else "deny", user_id, logged_tenant, reason)
        response = {"principalId": user_id, "policyDocument": policy, "context": response_context}
        # The tenant's bucket, for members of an active tenant only; HTTP APIs have no
        # usage plans.
        status = access.status if access.tenant_id is not None else None
        usage_key = None if status is None else status.usage_key
        if usage_key is not None and not is_v2:
            response["usageIdentifierKey"] = usage_key
        return response

    def _user(self, user_id: str) -> UserRecord | None:
        """The user's record, from this container's cache or one ``GetItem``."""
        cached = self._users.get(user_id)
        if cached is None:
            cached = (self.users.get_user(user_id),)
            self._users.put(user_id, cached)
        return cached[0]

    def _refuse_v2(self, event: Mapping[str, Any]) -> dict[str, Any]:
        if self.simple_responses:
            return {"isAuthorized": False}
        try:
            prefix = ApiArn.parse(event.get("routeArn")).prefix
        except InvalidInputError:
            raise Exception("Unauthorized") from None  # no ARN to deny
        return {
            "principalId": "unauthorized",
            "policyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": [f"{prefix}/*"]}
                ],
            },
        }

    @staticmethod
    def _log(outcome: str, user_id: str | None, tenant_id: str | None, reason: str) -> None:
        if decision_log.isEnabledFor(logging.INFO):
            # One JSON object per line; strings escaped by json's own encoder.
            decision_log.info(
                '{"message":"authorization","outcome":%s,"user":%s,"tenant":%s,"reason":%s}',
                _json_string(outcome),
                "null" if user_id is None else _json_string(user_id),
                "null" if tenant_id is None else _json_string(tenant_id),
                _json_string(reason),
            )
