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

A caller may call a route when one of their roles grants it (or it is ``authenticated``)
and none of their roles denies it: a deny always wins, and names that one route only.

Policies are compiled from the incoming ``methodArn``/``routeArn`` (partition, region,
account, API id, stage), with no deploy-time step, and memoised per (role set, API
prefix). Each lists every route the caller may call, because API Gateway caches it per
token and checks the caller's later requests against it.

**The invariant.** For every request that API Gateway routes to a declared route R,
on a REST API or an HTTP API (``_shared.apigw``), the policy allows it exactly when the
caller may call R; ``allows()`` and ``invocation_allowed()`` agree. IAM's ``*`` matches
any characters, ``/`` included, so the compiler works at the level of whole segments:

- Each route allows ``METHOD/seg/*/...`` for each concrete method that reaches it
  (``ANY`` expands to the methods its resource does not declare); parameters become
  ``*``; a ``*`` never stands for a method.
- For a route D the caller may not call, wherever some allowed route X's pattern
  matches a request routed to D, ``Deny`` statements cover those requests: D's own
  pattern, or if that would also refuse a route that some role set allows together
  with X while refusing D, the least patterns covering each such request in turn.
- A route that one of the caller's roles denies is also stated as a ``Deny`` when its
  own patterns match no other route's requests: the policy shows the deny, and it holds
  even for a request that the routing model might misjudge.
- Where even the least pattern covering such a request refuses an allowed route's
  request, no Deny statement of this shape can separate them (a ``*`` spans any number
  of segments): the map is refused at load time, naming both routes, a role set and both
  requests. Likewise when a REST API and an HTTP API route one request to routes that
  different roles may call.

Every "is there such a request" question is answered exactly by ``apigw.find_path``.
Role sets need no enumeration: whether X and A may be called while D may not is decided
by one role granting each of X and A and at most one role denying D (see ``_together``).

An HTTP API's ``$default`` is declared as ``"$default"``: its requests are all those
that no other route takes, its patterns ``METHOD/*``, and the same analysis applies.

The model's requests have non-empty segments. Those outside it (a trailing ``/``, an
empty segment) may be routed anywhere, and IAM's ``*`` matches nothing, so
``GET/parks/*`` matches ``GET/parks/``: every policy with an Allow also denies them
(``OUT_OF_MODEL``). A route your API serves that the map does not declare is outside the
invariant: it is allowed when an allowed route's pattern matches its requests and no
Deny does, so **declare every route your API serves**, ``$default`` included.

The module stays whole past 400 lines: the load-time analysis and the policy compiler
are two halves of the invariant above (the compiler states exactly the Deny patterns
that the analysis planned), and the route grammar and IAM matching they rest on already
live in ``_shared``.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tenantkit._shared.apigw import Overlap, Route, RouteTable, Shape, glob_of
from tenantkit._shared.cache import LruCache
from tenantkit._shared.iam import Decision, decide
from tenantkit.auth.records import ROLE_PATTERN, valid_role
from tenantkit.errors import ConfigurationError, InvalidInputError

__all__ = ["ApiArn", "RoleMap", "Route"]

_ARN = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):execute-api:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"(?P<api>[A-Za-z0-9]+)/(?P<stage>[A-Za-z0-9_$-]+|\*)/"
)
MAX_ARN_BYTES = 1600
_MEMO_SIZE = 512
_INVOKE = "execute-api:Invoke"
#: A policy's statements, frozen for the memo: (effect, resources) each.
_Statements = tuple[tuple[str, tuple[str, ...]], ...]
# Requests outside the routing model, which a gateway may route anywhere: a path that
# ends in "/" after at least one segment (the root "GET/" has one "/" after the method,
# so "*/*/" spares it), and a path with an empty segment.
OUT_OF_MODEL = ("*/*/", "*//*")


@dataclass(frozen=True, slots=True)
class ApiArn:
    """The API prefix of a ``methodArn``/``routeArn``: partition, region, account, API, stage."""

    prefix: str

    @classmethod
    def parse(cls, arn: object) -> ApiArn:
        """Refuse anything but an execute-api ARN of at most 1,600 bytes of UTF-8.

        A refusal is an :class:`InvalidInputError`: the ARN comes from the event.
        """
        try:
            size = len(arn.encode()) if isinstance(arn, str) else None
        except UnicodeEncodeError:  # a lone surrogate: no AWS event carries one
            size = None
        if not isinstance(arn, str) or size is None or size > MAX_ARN_BYTES:
            raise InvalidInputError(
                "the event has no usable methodArn/routeArn (ARN missing or too long)"
            )
        match = _ARN.match(arn)
        if match is None:
            raise InvalidInputError("the methodArn/routeArn is not an execute-api ARN")
        return cls(match.group(0)[:-1])


def _strings(value: object, what: str) -> list[str]:
    """A JSON list of strings, or a ConfigurationError saying what was wrong."""
    if not isinstance(value, list | tuple | set | frozenset) or not all(
        isinstance(item, str) for item in value
    ):
        raise ConfigurationError(f"{what} must be a list of strings, got {value!r}")
    return list(value)


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
        self.roles = frozenset(_strings(roles, "'roles'"))
        for role in self.roles:
            if not valid_role(role):
                raise ConfigurationError(f"role {role!r} must match {ROLE_PATTERN}")
        if not isinstance(routes, Mapping):
            raise ConfigurationError("'routes' must map each route to a list of roles")
        declared: list[Route] = []
        self._granted: dict[str, frozenset[str]] = {}
        for text, route_roles in routes.items():
            route = Route.parse(text)
            listed = [route_roles] if isinstance(route_roles, str) else route_roles
            granted = frozenset(_strings(listed, f"the roles of route {text!r}"))
            self._check_roles(granted, f"route {text!r}")
            if not granted:
                raise ConfigurationError(f"route {text!r} lists no roles")
            declared.append(route)
            self._granted[route.key] = granted
        open_routes = [Route.parse(t) for t in _strings(authenticated, "'authenticated'")]
        self.authenticated = frozenset(route.key for route in open_routes)
        self._table = RouteTable([*declared, *open_routes])
        self._routes = {route.key: route for route in (*declared, *open_routes)}
        self.deny = self._load_deny({} if deny is None else deny)
        self._deniers = {
            key: frozenset(role for role, keys in self.deny.items() if key in keys)
            for key in self._routes
        }
        self._patterns = {key: self._own_patterns(route) for key, route in self._routes.items()}
        self._check_api_kinds_agree()
        # Denied routes whose own patterns reach no other route: stated as Deny as well.
        self._stated = frozenset(
            key
            for key in set().union(*self.deny.values())
            if self._table.reaches_only(self._routes[key])
        )
        # refused route -> [(allowed route whose pattern reaches it, Deny patterns)]
        self._exposures: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
        # The analysis memo lives while the map loads only (never a long-lived dict).
        self._together_memo: dict[tuple[tuple[str, ...], str], frozenset[str] | None] = {}
        self._plan_denies()
        del self._together_memo
        # Memos, each an LRU of _MEMO_SIZE: policies per (role set, API prefix), and the
        # same documents per (role set, method ARN) so a repeated ARN costs one lookup.
        self._memo: LruCache[tuple[frozenset[str], str], _Statements] = LruCache(_MEMO_SIZE)
        self._by_arn: LruCache[tuple[frozenset[str], str], _Statements] = LruCache(_MEMO_SIZE)
        self._allowed_memo: LruCache[frozenset[str], frozenset[str]] = LruCache(_MEMO_SIZE)
        self._resources_memo: LruCache[frozenset[str], tuple[list[str], list[str]]] = LruCache(
            _MEMO_SIZE
        )
        self._invocation_memo: LruCache[tuple[frozenset[str], str], bool] = LruCache(_MEMO_SIZE)

    def _check_roles(self, roles: Iterable[str], where: str) -> None:
        unknown = sorted(role for role in roles if role not in self.roles)
        if unknown:
            raise ConfigurationError(
                f"{where} names unknown roles {unknown}; declare them in 'roles'"
            )

    def _load_deny(self, deny: object) -> dict[str, frozenset[str]]:
        if not isinstance(deny, Mapping):
            raise ConfigurationError("'deny' must map a role to a list of routes")
        loaded = {}
        for role, texts in deny.items():
            self._check_roles([role], "deny")
            keys = set()
            for text in _strings([texts] if isinstance(texts, str) else texts, "'deny'"):
                key = Route.parse(text).key
                if key not in self._routes:
                    raise ConfigurationError(
                        f"deny for {role!r} names {text!r}, which is not a declared route"
                    )
                keys.add(key)
            loaded[role] = frozenset(keys)
        return loaded

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RoleMap:
        """Load ``{"roles": [...], "routes": {...}, "deny": {...}, "authenticated": [...]}``."""
        if not isinstance(data, Mapping):
            raise ConfigurationError("a role map must be a JSON object")
        unknown = set(data) - {"roles", "routes", "deny", "authenticated"}
        if unknown:
            raise ConfigurationError(f"unknown role map keys {sorted(unknown)}")
        roles, routes = data.get("roles"), data.get("routes")
        deny = {} if data.get("deny") is None else data["deny"]
        authenticated = [] if data.get("authenticated") is None else data["authenticated"]
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

    # -- load-time analysis ---------------------------------------------------------------

    def _may(self, held: frozenset[str], key: str) -> bool:
        granted = key in self.authenticated or not self._granted[key].isdisjoint(held)
        return granted and self._deniers[key].isdisjoint(held)

    def _together(self, allowed: tuple[str, ...], refused: str) -> frozenset[str] | None:
        """A role set that may call every ``allowed`` route but not ``refused``, if any.

        If role set S does, so does a subset: for each allowed route one role of S that
        grants it (none for an authenticated route), plus one role of S that denies
        ``refused`` if a denial is what refuses it. Nothing in S denies the allowed
        routes, so trying those few roles decides the question for every role set.
        """
        memo_key = (allowed, refused)
        if memo_key in self._together_memo:
            return self._together_memo[memo_key]
        options = [
            [None] if key in self.authenticated else sorted(self._granted[key]) for key in allowed
        ]
        found = None
        for picks in itertools.product(*options, [None, *sorted(self._deniers[refused])]):
            held = frozenset(role for role in picks if role is not None)
            if all(self._may(held, key) for key in allowed) and not self._may(held, refused):
                found = held
                break
        self._together_memo[memo_key] = found
        return found

    def _own_patterns(self, route: Route) -> tuple[str, ...]:
        methods = self._table.methods(route)
        if not methods:
            raise ConfigurationError(f"route {route.key!r} receives no method: all are declared")
        path = "/".join(glob_of(route.shape))
        return tuple(f"{method}/{path}" for method in sorted(methods))

    def _check_api_kinds_agree(self) -> None:
        """Refuse a request that REST and HTTP APIs route to routes with other roles."""
        signature = {key: self._permission(key) for key in self._routes}
        split = self._table.split_by_api(lambda a, b: signature[a.key] != signature[b.key])
        if split is not None:
            method, path, rest_route, http_route = split
            raise ConfigurationError(
                f"request {_show(method, path)} reaches {rest_route.key!r} on a REST API but "
                f"{http_route.key!r} on an HTTP API, and different roles may call them; no "
                "one policy is right for both. Give them the same roles or distinct literal "
                "segments"
            )

    def _permission(self, key: str) -> tuple[bool, frozenset[str], frozenset[str]]:
        """Equal for two routes exactly when every role set may call both or neither."""
        if key in self.authenticated:
            return True, frozenset(), self._deniers[key]
        granted = self._granted[key] - self._deniers[key]
        return (False, granted, self._deniers[key]) if granted else (False, granted, granted)

    def _plan_denies(self) -> None:
        """For each refused route, the Deny patterns that each allowed route calls for."""
        for reaching in self._routes.values():
            glob = glob_of(reaching.shape)
            for refused in self._routes.values():
                if refused is reaching:
                    continue
                for method in sorted(self._table.methods(reaching)):
                    if self._table.reaching(glob, refused, method) is None:
                        continue
                    if self._together((reaching.key,), refused.key) is None:
                        break  # no role set may call one and not the other
                    patterns = self._deny_patterns(reaching, refused, method)
                    self._exposures.setdefault(refused.key, []).append(
                        (reaching.key, tuple(f"{method}/{'/'.join(p)}" for p in patterns))
                    )

    def _deny_patterns(self, reaching: Route, refused: Route, method: str) -> list[Shape]:
        """Patterns refusing what ``reaching`` lets into ``refused``, sparing every route
        that some role set may call together with ``reaching`` while refused ``refused``."""
        keep = [
            route
            for route in self._routes.values()
            if route is not refused
            and self._together((reaching.key, route.key), refused.key) is not None
        ]
        found = self._table.separating(reaching, refused, method, keep)
        if not isinstance(found, Overlap):
            return found
        held = self._together((reaching.key, found.kept.key), refused.key)
        both = {reaching.key: None, found.kept.key: None}
        raise ConfigurationError(
            f"roles {sorted(held or ())} may call {' and '.join(map(repr, both))} but not "
            f"{refused.key!r}: {reaching.key!r} lets in {_show(method, found.path)}, which "
            f"reaches {refused.key!r}, and any Deny for it also refuses "
            f"{_show(method, found.blocked)}, which reaches {found.kept.key!r} (in IAM a '*' "
            "spans any number of segments). Use distinct literal segments or other roles for "
            "these routes"
        )

    # -- decisions ------------------------------------------------------------------------

    @property
    def routes(self) -> Mapping[str, Route]:
        """Every declared route by key (``"GET /parks/{parkId}"``)."""
        return self._routes

    def allowed_routes(self, roles: Iterable[str]) -> frozenset[str]:
        """Route keys a caller holding ``roles`` may call (empty roles: authenticated only)."""
        # A frozenset of known roles is its own memo key: no copy, its hash computed once.
        known = self.roles
        held = (
            roles if isinstance(roles, frozenset) and roles <= known else frozenset(roles) & known
        )
        cached = self._allowed_memo.get(held)
        if cached is not None:
            return cached
        result = frozenset(key for key in self._routes if self._may(held, key))
        self._allowed_memo.put(held, result)
        return result

    def allows(self, roles: Iterable[str], route_key: str) -> bool:
        """True if ``roles`` may call ``route_key`` (an HTTP API ``routeKey``)."""
        return route_key in self.allowed_routes(roles)

    def invocation_allowed(self, roles: Iterable[str], arn: str) -> bool:
        """Whether the compiled policy lets ``roles`` invoke ``arn`` (IAM evaluation)."""
        held = frozenset(roles) & self.roles
        key = (held, arn)
        decided = self._invocation_memo.get(key)
        if decided is None:
            statements = [
                (s["Effect"], (s["Action"],), s["Resource"])
                for s in self.policy(held, arn)["Statement"]
            ]
            decided = decide(statements, _INVOKE, arn) is Decision.ALLOW
            self._invocation_memo.put(key, decided)
        return decided

    def policy(self, roles: Iterable[str], arn: str) -> dict[str, Any]:
        """The IAM policy for ``roles`` on the API of ``arn``: a fresh, JSON-ready dict.

        The statements are memoised frozen (tuples); each call builds a new document
        from them (about a microsecond), so no caller can change another's policy.
        """
        # A frozenset of known roles is its own memo key: no copy, its hash computed once.
        known = self.roles
        held = (
            roles if isinstance(roles, frozenset) and roles <= known else frozenset(roles) & known
        )
        frozen = self._by_arn.get((held, arn))
        if frozen is None:
            prefix = ApiArn.parse(arn).prefix
            memo_key = (held, prefix)
            frozen = self._memo.get(memo_key)
            if frozen is None:
                frozen = self._statements(held, prefix)
                self._memo.put(memo_key, frozen)
            self._by_arn.put((held, arn), frozen)
        return {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": _INVOKE, "Effect": effect, "Resource": list(resources)}
                for effect, resources in frozen
            ],
        }

    def _statements(self, held: frozenset[str], prefix: str) -> _Statements:
        allow, deny = self._resources(held)
        if not allow:
            return (("Deny", (f"{prefix}/*",)),)
        allowed = ("Allow", tuple(f"{prefix}/{r}" for r in allow))
        outside = ("Deny", tuple(f"{prefix}/{r}" for r in OUT_OF_MODEL))
        if not deny:
            return allowed, outside
        return allowed, ("Deny", tuple(f"{prefix}/{r}" for r in deny)), outside

    def _resources(self, held: frozenset[str]) -> tuple[list[str], list[str]]:
        """Allow and Deny resources after the API prefix, memoised per role set."""
        cached = self._resources_memo.get(held)
        if cached is not None:
            return cached
        allowed = self.allowed_routes(held)
        allow = sorted({p for key in allowed for p in self._patterns[key]})
        deny = {
            pattern
            for refused, exposures in self._exposures.items()
            if refused not in allowed
            for reaching, patterns in exposures
            if reaching in allowed
            for pattern in patterns
        }
        for role in held:
            for key in self.deny.get(role, ()):
                if key in self._stated:
                    deny.update(self._patterns[key])
        self._resources_memo.put(held, (allow, sorted(deny)))
        return allow, sorted(deny)


def _show(method: str, path: Sequence[str | None]) -> str:
    """A request found by ``find_path``, for messages: ``<any>`` is any other segment."""
    return f"'{method} /{'/'.join('<any>' if s is None else s for s in path)}'"
