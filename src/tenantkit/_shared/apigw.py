"""API Gateway routes: their grammar, how a request is routed, and which requests reach one.

A path *shape* is a route path with its parameter names erased: a tuple whose items are
literal segments or the markers ``PARAM`` (one segment), ``GREEDY`` (``{proxy+}``: one
or more segments, last only) and ``STAR`` (an IAM ``*`` standing for whole segments).
No literal can spell a marker. Two routes with one shape sit on one resource.

Routing (``RouteTable.route``), for a concrete method and a path of non-empty segments:

- A shape is *eligible* if it matches the path and declares the method or ``ANY``; at
  the chosen shape the declared method beats ``ANY`` ("ANY matches the methods you have
  not defined for the resource").
- **REST** picks the resource segment by segment from the left: a literal beats a
  ``{param}``, which beats ``{proxy+}``. This model *backtracks*: a literal branch that
  dead-ends, or ends at a resource without the method, gives way to the next branch.
  So it picks the eligible shape that is greatest at the first segment where they
  differ. A walk that never backtracks routes a subset of these requests, to the same
  routes, so a policy right for this model is right for that one too.
- **HTTP APIs** pick the most specific route: any full (non-greedy) match before any
  greedy one, then as REST does. A request that no route takes goes to ``$default``
  if it is declared (``Route.parse("$default")``; HTTP APIs only), else nowhere.

Eligible shapes that both match one path differ in kind at their first differing
segment (equal literals, or they could not both match), so these orders never tie.

Use: ``RouteTable(Route.parse(k) for k in keys).route("GET", split_path(path), Api.REST)``
gives the ``Route`` (``.key``, ``.method``, ``.path``, ``.shape``) or None. Segments are
compared as given: decode or refuse percent-escapes first, as the caller's gateway does.
"""

from __future__ import annotations

import enum
import itertools
import re
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from tenantkit.errors import ConfigurationError

__all__ = [
    "ANY",
    "DEFAULT",
    "GREEDY",
    "MAX_PATTERNS",
    "METHODS",
    "PARAM",
    "STAR",
    "Api",
    "Overlap",
    "Route",
    "RouteTable",
    "Shape",
    "Word",
    "find_path",
    "glob_of",
    "split_path",
]

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
ANY = "ANY"
DEFAULT = "$default"  # an HTTP API's route for requests that no other route takes
PARAM, GREEDY, STAR = "{}", "{+}", "*"
MAX_PATTERNS = 32  # per (reaching route, method, refused route); beyond it, refuse
Shape = tuple[str, ...]
Word = tuple[str | None, ...]  # a path's segments; None is any segment that is no literal

_LITERAL = re.compile(r"[A-Za-z0-9._~@:-]+\Z")
_PARAM = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}\Z")
_GREEDY = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\+\}\Z")
_MARKERS = frozenset({PARAM, GREEDY, STAR})
_RANK = {PARAM: 1, GREEDY: 0}  # a literal ranks 2


class Api(enum.Enum):
    REST = "REST"
    HTTP = "HTTP"


def split_path(path: str) -> tuple[str, ...]:
    """``"/"`` -> ``()``, ``"/a/b"`` -> ``("a", "b")``: the segments routing compares."""
    return () if path == "/" else tuple(path[1:].split("/"))


@dataclass(frozen=True, slots=True)
class Route:
    """One ``METHOD /path/{param}`` route."""

    method: str
    path: str
    key: str = field(init=False, repr=False, compare=False)  # "GET /parks/{parkId}"
    shape: Shape = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.method == DEFAULT:  # its requests are "any path": IAM's "*"
            object.__setattr__(self, "key", DEFAULT)
            object.__setattr__(self, "shape", (STAR,))
            return
        shape = tuple(
            GREEDY if _GREEDY.match(s) else PARAM if s.startswith("{") else s
            for s in split_path(self.path)
        )
        object.__setattr__(self, "key", f"{self.method} {self.path}")
        object.__setattr__(self, "shape", shape)

    @property
    def parameters(self) -> tuple[str, ...]:
        """The path parameters' names in order: ``{proxy+}`` is ``proxy``."""
        return tuple(
            segment.strip("{+}") for segment in split_path(self.path) if segment.startswith("{")
        )

    @property
    def resource(self) -> str:
        """``GET/parks/*``: method and path in policy form (``ANY`` is not expanded)."""
        return f"{self.method}/{'/'.join(glob_of(self.shape))}"

    @classmethod
    def parse(cls, text: object) -> Route:
        """Parse ``"GET /parks/{parkId}"`` or ``"$default"``; ``*`` and malformed paths
        are refused."""
        if not isinstance(text, str):
            raise ConfigurationError(f"a route must be a string like 'GET /parks', got {text!r}")
        if text == DEFAULT:
            return cls(DEFAULT, "")
        method, sep, path = text.partition(" ")
        if not sep or (method not in METHODS and method != ANY):
            raise ConfigurationError(
                f"route {text!r} must be 'METHOD /path' with METHOD one of {[*METHODS, ANY]}"
            )
        segments = split_path(path)
        if not path.startswith("/") or not all(
            _LITERAL.match(s) or _PARAM.match(s) or _GREEDY.match(s) for s in segments
        ):
            raise ConfigurationError(
                f"route {text!r} has a malformed path: use '/literal/{{param}}' segments "
                "of [A-Za-z0-9._~@:-]; '*' is not allowed"
            )
        if any(_GREEDY.match(s) for s in segments[:-1]):
            raise ConfigurationError(f"route {text!r}: a greedy {{param+}} must come last")
        route = cls(method, path)
        names = route.parameters
        for name in names:
            if names.count(name) > 1:  # pathParameters could hold only one of them
                raise ConfigurationError(f"route {text!r} names the path parameter {name!r} twice")
        return route


# Its public home (set after the dataclass is made: the decorator reads its module).
Route.__module__ = "tenantkit.auth"


def glob_of(shape: Shape) -> Shape:
    """The IAM form of a route's shape: each parameter becomes ``*``."""
    return tuple(STAR if s in _MARKERS else s for s in shape)


def _fits(shape: Shape, path: Sequence[str]) -> bool:
    for position, segment in enumerate(shape):
        if segment == GREEDY:
            return len(path) > position
        if position >= len(path) or (segment != PARAM and segment != path[position]):
            return False
    return len(shape) == len(path)


def _overlap(one: Shape, other: Shape) -> bool:
    """False only if no path matches both shapes (a quick test; True may be wrong)."""
    if (STAR,) in (one, other):
        return True  # it also matches the root
    for a, b in zip(one, other, strict=False):
        if a in (GREEDY, STAR) or b in (GREEDY, STAR):
            return True
        if a != b and PARAM not in (a, b):
            return False
    return len(one) == len(other)


def _rank(shape: Shape, api: Api) -> tuple[int, ...]:
    ranks = tuple(_RANK.get(s, 2) for s in shape)
    if api is Api.HTTP:
        return (0 if shape[-1:] == (GREEDY,) else 1, *ranks)
    return ranks


class RouteTable:
    """Declared routes by shape; routes concrete requests as API Gateway does."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self._ahead: dict[tuple[Route, str, Api], list[Shape]] = {}
        self._at: dict[Shape, dict[str, Route]] = {}
        self.default: Route | None = None  # an HTTP API's $default, if declared
        for route in routes:
            if route.method == DEFAULT:
                if self.default is not None:
                    raise ConfigurationError("'$default' is declared twice; declare it once")
                self.default = route
                continue
            methods = self._at.setdefault(route.shape, {})
            if route.method in methods:
                raise ConfigurationError(
                    f"routes {methods[route.method].key!r} and {route.key!r} are the same "
                    "route; declare it once"
                )
            methods[route.method] = route

    @property
    def shapes(self) -> Mapping[Shape, Mapping[str, Route]]:
        return self._at

    def methods(self, route: Route) -> frozenset[str]:
        """The concrete methods that reach ``route``: its own, or for ``ANY`` the rest."""
        if route.method == DEFAULT:
            return frozenset(METHODS)
        if route.method != ANY:
            return frozenset({route.method})
        return frozenset(METHODS) - set(self._at[route.shape])

    def at(self, shape: Shape, method: str) -> Route | None:
        """The route that ``method`` requests get at ``shape``: its own, else ``ANY``."""
        methods = self._at[shape]
        return methods.get(method) or methods.get(ANY)

    def route(self, method: str, path: Sequence[str], api: Api) -> Route | None:
        """The route that receives ``method`` on ``path`` (segments), or None."""
        if method not in METHODS:
            return None
        best: tuple[tuple[int, ...], Route] | None = None
        for shape in self._at:
            route = self.at(shape, method)
            if route is not None and _fits(shape, path):
                rank = _rank(shape, api)
                if best is None or rank > best[0]:
                    best = (rank, route)
        if best is None:
            return self.default if api is Api.HTTP else None
        return best[1]

    def ahead_of(self, route: Route, method: str, api: Api) -> list[Shape]:
        """Shapes that take ``method`` requests matching ``route``'s shape before it."""
        found = self._ahead.get((route, method, api))
        if found is None:
            own = route.shape
            rank = _rank(own, api)
            found = [
                shape
                for shape in self._at
                if shape != own
                and self.at(shape, method) is not None
                and _overlap(shape, own)
                and _rank(shape, api) > rank
            ]
            self._ahead[(route, method, api)] = found
        return found

    # -- which requests reach a route, and which patterns tell routes apart ---------------

    def reaching(
        self, glob: Shape, route: Route, method: str, also: Sequence[Shape] = ()
    ) -> Word | None:
        """A path of a ``method`` request that ``glob`` matches and that reaches ``route``
        on a REST or an HTTP API, unless a shape of ``also`` matches it too."""
        if method not in self.methods(route):
            return None
        if route.method == DEFAULT:  # HTTP APIs only: what no shape serving method takes
            taken = [shape for shape in self._at if self.at(shape, method) is not None]
            return find_path([glob], [*taken, *also])
        for api in Api:
            path = find_path([glob, route.shape], [*self.ahead_of(route, method, api), *also])
            if path is not None:
                return path
        return None

    def reaches_only(self, route: Route) -> bool:
        """Whether ``route``'s own patterns match no request that reaches another route."""
        glob = glob_of(route.shape)
        others = [other for shapes in self._at.values() for other in shapes.values()]
        return all(
            self.reaching(glob, other, method) is None  # () is the root: a path
            for method in self.methods(route)
            for other in [*others, *([self.default] if self.default else [])]
            if other is not route
        )

    def separating(
        self, reaching: Route, refused: Route, method: str, keep: Sequence[Route]
    ) -> list[Shape] | Overlap:
        """Patterns matching every ``method`` request that ``reaching``'s pattern lets into
        ``refused`` and no request that reaches a ``keep`` route, or why none exist.

        ``refused``'s own pattern, if it spares the ``keep`` routes. Otherwise, in turn,
        the least pattern covering a shortest request not yet covered: its literal
        segments, and ``*`` for each segment that is no literal. Every pattern of this
        shape that matches all such requests (a segment that is no literal can be any
        other) matches everything that one matches; so where it reaches a ``keep`` route,
        no patterns can separate them, and the ``Overlap`` says so.
        """
        own = glob_of(refused.shape)
        if all(self.reaching(own, kept, method) is None for kept in keep):
            return [own]
        glob = glob_of(reaching.shape)
        patterns: list[Shape] = []
        while (path := self.reaching(glob, refused, method, patterns)) is not None:
            least = tuple(STAR if segment is None else segment for segment in path)
            for kept in keep:
                blocked = self.reaching(least, kept, method)
                if blocked is not None:
                    return Overlap(path, kept, blocked)
            patterns.append(least)
            if len(patterns) > MAX_PATTERNS:
                raise ConfigurationError(
                    f"{reaching.key!r} reaches {refused.key!r} in more ways than "
                    f"{MAX_PATTERNS} Deny patterns cover; use distinct literal segments"
                )
        return patterns

    def split_by_api(
        self, differ: Callable[[Route, Route], bool]
    ) -> tuple[str, Word, Route, Route] | None:
        """A request that REST routes to one route and HTTP to another, where ``differ``.

        As (method, path, REST's route, HTTP's route). Only a greedy shape can win on
        REST (a literal or parameter before it) and lose on HTTP (any full match first).
        """
        for shapes in self._at.values():
            for http_route in shapes.values():
                for method in sorted(self.methods(http_route)):
                    for shape in self.ahead_of(http_route, method, Api.REST):
                        rest_route = self.at(shape, method)
                        if shape[-1:] != (GREEDY,) or rest_route is None:
                            continue
                        if not differ(rest_route, http_route):
                            continue
                        reject = [
                            *self.ahead_of(rest_route, method, Api.REST),
                            *self.ahead_of(http_route, method, Api.HTTP),
                        ]
                        path = find_path([shape, http_route.shape], reject)
                        if path is not None:
                            return method, path, rest_route, http_route
        return None


@dataclass(frozen=True, slots=True)
class Overlap:
    """No patterns separate: ``path`` reaches the refused route, and the least pattern
    covering it also matches ``blocked``, the path of a request that reaches ``kept``."""

    path: Word
    kept: Route
    blocked: Word


# -- which paths a set of shapes accepts ----------------------------------------------
#
# A shape of n segments is a small automaton over segments: state 2i waits for segment
# i; state 2i+1 is inside a GREEDY or STAR at i after one or more segments; 2n accepts.
#
# Why segments suffice for IAM patterns: in ``METHOD/s1/.../sn`` with each si a literal
# (no ``/``, ``*`` or ``?``) or ``*``, every piece between stars begins and ends at a
# ``/`` or at an end of the string. Against ``METHOD/v1/.../vk`` with non-empty vi, each
# piece therefore lines up with whole segments, and each ``*`` matches one or more whole
# segments. The one exception: ``METHOD/*`` also matches the root ``METHOD/`` (a ``*``
# matches nothing), so the one-star glob accepts the empty path too. The tests check
# this against IAM's string matching.


def _start(shape: Shape) -> frozenset[int]:
    return frozenset({0, 2}) if shape == (STAR,) else frozenset({0})


def _step(shape: Shape, states: frozenset[int], symbol: str | None) -> frozenset[int]:
    following: set[int] = set()
    last = 2 * len(shape)
    for state in states:
        if state == last:
            continue
        position = state // 2
        segment = shape[position]
        if state % 2 or segment in (GREEDY, STAR):
            following.update((2 * position + 1, 2 * position + 2))
        elif segment in (PARAM, symbol):
            following.add(2 * position + 2)
    return frozenset(following)


def find_path(accept: Sequence[Shape], reject: Sequence[Shape] = ()) -> Word | None:
    """A shortest path that every ``accept`` shape matches and no ``reject`` shape does.

    Exact: shapes compare a segment only for equality with their own literals, so every
    segment that is none of those literals behaves alike (``None`` in the answer), and
    the search runs over the finite product of the shapes' automata.
    """
    if not all(_overlap(one, other) for one, other in itertools.pairwise(accept)):
        return None
    shapes = (*accept, *reject)
    count = len(accept)
    literals = sorted({s for shape in shapes for s in shape if s not in _MARKERS})
    symbols: list[str | None] = [None, *literals]
    finals = [2 * len(shape) for shape in shapes]

    def found(states: tuple[frozenset[int], ...]) -> bool:
        hits = [final in state for final, state in zip(finals, states, strict=True)]
        return all(hits[:count]) and not any(hits[count:])

    start = tuple(_start(shape) for shape in shapes)
    queue: deque[tuple[tuple[frozenset[int], ...], Word]] = deque([(start, ())])
    seen = {start}
    while queue:
        states, word = queue.popleft()
        if found(states):
            return word
        for symbol in symbols:
            following = tuple(
                _step(shape, state, symbol) for shape, state in zip(shapes, states, strict=True)
            )
            if following in seen or not all(following[:count]):
                continue
            seen.add(following)
            queue.append((following, (*word, symbol)))
    return None
