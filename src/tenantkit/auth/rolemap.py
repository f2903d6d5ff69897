"""Which roles may call which routes, compiled into API Gateway IAM policies.

A role map is declared once, as data (``RoleMap.from_dict`` / ``RoleMap.from_file``)::

    {
      "roles": ["admin", "member", "visitor"],
      "routes": {"GET /parks": ["admin", "member", "visitor"],
                 "POST /parks": ["admin"],
                 "GET /parks/{parkId}": ["admin", "member", "visitor"]},
      "deny": {"visitor": ["POST /parks"]},
      "authenticated": ["GET /settings"]
    }

Policies are compiled at request time from the incoming ``methodArn``/``routeArn`` (its
partition, region, account, API id and stage), so there is no deploy-time step, and are
memoised per (role set, API prefix). Each policy lists every route the caller may call,
because API Gateway caches it by token and reuses it for the caller's other requests.

Matching follows API Gateway: in a policy resource ``*`` matches any characters,
including ``/``. Path parameters become ``*`` and nothing else is a wildcard, so
``GET /parks`` never covers ``GET /parks-admin``. Because ``GET /parks/*`` would also
cover ``GET /parks/p1/reviews``, a route the caller may not call that lies under one of
their wildcards gets an explicit ``Deny`` statement.

Denies always win. The reference app merged allow lists across roles, so an allow from
one role cancelled a deny from another; here each role's ``deny`` routes become ``Deny``
statements, and IAM evaluation makes a deny beat every allow. A deny of a route with a
path parameter also covers the routes below it (``*`` crosses ``/``); ``RoleMap``
expands such denies at load time so that ``allows()`` (used for HTTP API simple
responses) and the compiled policy always agree.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tenantkit.errors import ConfigurationError

__all__ = ["ApiArn", "RoleMap", "Route", "resource_matches"]

METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"})
_LITERAL_SEGMENT = re.compile(r"[A-Za-z0-9._~@:-]+\Z")
_PARAM_SEGMENT = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\+?\}\Z")
_ROLE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}\Z")
_ARN = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):execute-api:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"(?P<api>[A-Za-z0-9]+)/(?P<stage>[A-Za-z0-9_$-]+|\*)/"
)
MAX_ARN_BYTES = 1600
_MEMO_SIZE = 512


def resource_matches(pattern: str, value: str) -> bool:
    """API Gateway/IAM matching of a policy resource: ``*`` matches anything, ``/`` too."""
    parts = pattern.split("*")
    if len(parts) == 1:
        return pattern == value
    if not value.startswith(parts[0]) or not value.endswith(parts[-1]):
        return False
    position = len(parts[0])
    end = len(value) - len(parts[-1])
    if end < position:
        return False
    for part in parts[1:-1]:
        found = value.find(part, position, end)
        if found < 0:
            return False
        position = found + len(part)
    return True


@dataclass(frozen=True, slots=True)
class Route:
    """One ``METHOD /path/{param}`` route."""

    method: str
    path: str

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def resource(self) -> str:
        """The policy resource after the API prefix: ``GET/parks/*``."""
        method = "*" if self.method == "ANY" else self.method
        segments = ["*" if s.startswith("{") else s for s in self.path.split("/")[1:]]
        return f"{method}/{'/'.join(segments)}"

    def sample(self, value: str = "x1") -> str:
        """A concrete request for this route, as it appears in a method ARN."""
        method = "GET" if self.method == "ANY" else self.method
        segments = [value if s.startswith("{") else s for s in self.path.split("/")[1:]]
        return f"{method}/{'/'.join(segments)}"

    @classmethod
    def parse(cls, text: object) -> Route:
        if not isinstance(text, str):
            raise ConfigurationError(f"a route must be a string like 'GET /parks', got {text!r}")
        method, sep, path = text.partition(" ")
        if not sep or method not in METHODS:
            raise ConfigurationError(
                f"route {text!r} must be 'METHOD /path' with METHOD one of {sorted(METHODS)}"
            )
        if path != "/":
            segments = path.split("/")
            if segments[0] != "" or not all(
                _LITERAL_SEGMENT.match(s) or _PARAM_SEGMENT.match(s) for s in segments[1:]
            ):
                raise ConfigurationError(
                    f"route {text!r} has a malformed path: use '/literal/{{param}}' segments "
                    "of [A-Za-z0-9._~@:-]; '*' is not allowed"
                )
            if any(s.endswith("+}") for s in segments[1:-1]):
                raise ConfigurationError(f"route {text!r}: a greedy {{param+}} must come last")
        return cls(method, path)


@dataclass(frozen=True, slots=True)
class ApiArn:
    """The API prefix of a ``methodArn``/``routeArn``: partition, region, account, API, stage."""

    prefix: str

    @classmethod
    def parse(cls, arn: object) -> ApiArn:
        if not isinstance(arn, str) or len(arn.encode()) > MAX_ARN_BYTES:
            raise ValueError("the event has no usable methodArn/routeArn (ARN missing or too long)")
        match = _ARN.match(arn)
        if match is None:
            raise ValueError("the methodArn/routeArn is not an execute-api ARN")
        return cls(match.group(0)[:-1])


class RoleMap:
    """Roles, their routes, their denied routes, and routes open to any verified user."""

    def __init__(
        self,
        *,
        roles: Iterable[str],
        routes: Mapping[str, Iterable[str]],
        deny: Mapping[str, Iterable[str]] | None = None,
        authenticated: Iterable[str] = (),
    ) -> None:
        if isinstance(roles, str):
            raise ConfigurationError("roles must be a list of role names")
        self.roles = frozenset(roles)
        for role in self.roles:
            if not isinstance(role, str) or not _ROLE.match(role):
                raise ConfigurationError(f"role {role!r} must match {_ROLE.pattern}")
        self._routes: dict[str, Route] = {}
        self._granted: dict[str, frozenset[str]] = {}
        for text, route_roles in routes.items():
            route = self._declare(text)
            granted = frozenset([route_roles] if isinstance(route_roles, str) else route_roles)
            self._check_roles(granted, f"route {text!r}")
            if not granted:
                raise ConfigurationError(f"route {text!r} lists no roles")
            self._granted[route.key] = granted
        self.authenticated = frozenset(self._declare(text).key for text in authenticated)
        declared_deny: dict[str, frozenset[str]] = {}
        for role, texts in (deny or {}).items():
            self._check_roles([role], "deny")
            keys = set()
            for text in [texts] if isinstance(texts, str) else texts:
                key = Route.parse(text).key
                if key not in self._routes:
                    raise ConfigurationError(
                        f"deny for {role!r} names {text!r}, which is not a declared route"
                    )
                keys.add(key)
            declared_deny[role] = frozenset(keys)
        self._check_overlaps()
        # A deny of GET /a/* also denies GET /a/x/b: expand so allows() matches the policy.
        self.deny = {
            role: frozenset(
                other
                for key in keys
                for other, route in self._routes.items()
                if resource_matches(self._routes[key].resource, route.sample())
            )
            for role, keys in declared_deny.items()
        }
        self._memo: dict[tuple[frozenset[str], str], dict[str, Any]] = {}
        self._allowed_memo: dict[frozenset[str], frozenset[str]] = {}
        self._prefix_memo: dict[str, str] = {}
        self._invocation_memo: dict[tuple[frozenset[str], str], bool] = {}
        self._memo_lock = threading.Lock()

    def _declare(self, text: object) -> Route:
        route = Route.parse(text)
        resource = route.resource
        for other in self._routes.values():
            if other.resource == resource:
                raise ConfigurationError(
                    f"routes {other.key!r} and {route.key!r} are the same route; declare it once"
                )
        self._routes[route.key] = route
        return route

    def _check_roles(self, roles: Iterable[str], where: str) -> None:
        unknown = sorted(str(role) for role in roles if role not in self.roles)
        if unknown:
            raise ConfigurationError(
                f"{where} names unknown roles {unknown}; declare them in 'roles'"
            )

    def _check_overlaps(self) -> None:
        """Refuse route sets whose wildcards cannot be told apart by an IAM policy.

        If route B lies under route A's wildcard and route C lies under B's, denying B
        while allowing A and C cannot be written with IAM ``*`` (B's deny covers C).
        """
        routes = list(self._routes.values())
        for b in routes:
            shadowed = any(a is not b and resource_matches(a.resource, b.sample()) for a in routes)
            covered = [c for c in routes if c is not b and resource_matches(b.resource, c.sample())]
            if shadowed and covered:
                raise ConfigurationError(
                    f"route {b.key!r} lies under another route's path parameter and has "
                    f"{covered[0].key!r} under its own; API Gateway policies cannot separate "
                    "them. Use distinct literal segments"
                )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RoleMap:
        """Load ``{"roles": [...], "routes": {...}, "deny": {...}, "authenticated": [...]}``."""
        if not isinstance(data, Mapping):
            raise ConfigurationError("a role map must be a JSON object")
        unknown = set(data) - {"roles", "routes", "deny", "authenticated"}
        if unknown:
            raise ConfigurationError(f"unknown role map keys {sorted(unknown)}")
        roles, routes = data.get("roles"), data.get("routes")
        deny, authenticated = data.get("deny") or {}, data.get("authenticated") or []
        if not isinstance(roles, list) or not isinstance(routes, Mapping):
            raise ConfigurationError("a role map needs 'roles' (a list) and 'routes' (an object)")
        if not isinstance(deny, Mapping) or not all(isinstance(v, list) for v in deny.values()):
            raise ConfigurationError("'deny' must map a role to a list of routes")
        if not isinstance(authenticated, list):
            raise ConfigurationError("'authenticated' must be a list of routes")
        if not all(isinstance(v, list) for v in routes.values()):
            raise ConfigurationError("'routes' must map each route to a list of roles")
        return cls(roles=roles, routes=routes, deny=deny, authenticated=authenticated)

    @classmethod
    def from_file(cls, path: str | Path) -> RoleMap:
        """Load a role map from a JSON file."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ConfigurationError(
                f"cannot read role map {str(path)!r}: {type(error).__name__}"
            ) from None
        return cls.from_dict(data)

    # -- decisions ---------------------------------------------------------------------

    @property
    def routes(self) -> Mapping[str, Route]:
        """Every declared route by key (``"GET /parks/{parkId}"``)."""
        return self._routes

    def allowed_routes(self, roles: Iterable[str]) -> frozenset[str]:
        """Route keys a caller holding ``roles`` may call (empty roles: authenticated only)."""
        held = frozenset(roles) & self.roles
        cached = self._allowed_memo.get(held)
        if cached is not None:
            return cached
        granted = {key for key, needed in self._granted.items() if not needed.isdisjoint(held)}
        granted |= self.authenticated
        for role in held:
            granted -= self.deny.get(role, frozenset())
        result = frozenset(granted)
        if len(self._allowed_memo) >= _MEMO_SIZE:
            self._allowed_memo.clear()
        self._allowed_memo[held] = result
        return result

    def allows(self, roles: Iterable[str], route_key: str) -> bool:
        """True if ``roles`` may call ``route_key`` (an HTTP API ``routeKey``)."""
        return route_key in self.allowed_routes(roles)

    def _prefix(self, arn: str) -> str:
        prefix = self._prefix_memo.get(arn)
        if prefix is None:
            prefix = ApiArn.parse(arn).prefix
            if len(self._prefix_memo) >= _MEMO_SIZE:
                self._prefix_memo.clear()
            self._prefix_memo[arn] = prefix
        return prefix

    def invocation_allowed(self, roles: Iterable[str], arn: str) -> bool:
        """Whether the compiled policy lets ``roles`` invoke ``arn`` (API Gateway matching)."""
        held = frozenset(roles) & self.roles
        key = (held, arn)
        decided = self._invocation_memo.get(key)
        if decided is None:
            decided = False
            for statement in self.policy(held, arn)["Statement"]:
                if any(resource_matches(r, arn) for r in statement["Resource"]):
                    if statement["Effect"] == "Deny":
                        decided = False
                        break
                    decided = True
            if len(self._invocation_memo) >= _MEMO_SIZE:
                self._invocation_memo.clear()
            self._invocation_memo[key] = decided
        return decided

    def policy(self, roles: Iterable[str], arn: str) -> dict[str, Any]:
        """The IAM policy for ``roles`` on the API of ``arn``. Memoised; do not mutate it."""
        prefix = self._prefix(arn)
        held = frozenset(roles) & self.roles
        memo_key = (held, prefix)
        cached = self._memo.get(memo_key)
        if cached is not None:
            return cached
        document = self._compile(held, prefix)
        with self._memo_lock:
            if len(self._memo) >= _MEMO_SIZE:
                self._memo.clear()
            self._memo[memo_key] = document
        return document

    def _compile(self, held: frozenset[str], prefix: str) -> dict[str, Any]:
        allowed = self.allowed_routes(held)
        allow = sorted({self._routes[key].resource for key in allowed})
        # Explicit denies of the held roles, plus every other route the caller may not
        # call that one of their wildcards would cover.
        denied = set().union(*(self.deny.get(role, ()) for role in held))
        deny = {self._routes[key].resource for key in denied}
        for key, route in self._routes.items():
            if key not in allowed and any(
                resource_matches(pattern, route.sample()) for pattern in allow
            ):
                deny.add(route.resource)
        statements: list[dict[str, Any]] = []
        if allow:
            statements.append(_statement("Allow", [f"{prefix}/{r}" for r in allow]))
            if deny:
                statements.append(_statement("Deny", [f"{prefix}/{r}" for r in sorted(deny)]))
        else:
            statements.append(_statement("Deny", [f"{prefix}/*"]))
        return {"Version": "2012-10-17", "Statement": statements}


def _statement(effect: str, resources: list[str]) -> dict[str, Any]:
    return {"Action": "execute-api:Invoke", "Effect": effect, "Resource": resources}
