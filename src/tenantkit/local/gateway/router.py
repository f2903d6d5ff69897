"""Which route a request reaches: :mod:`tenantkit._shared.apigw`'s REST routing, the
model the role map compiles its policies against, over every route of the template.

All the template's APIs share one port, so their routes form one table (the stack
refuses two that claim the same request). The path is split on ``/`` *before* its
segments are decoded: an encoded ``/`` stays inside its segment, and the gateway refuses
such paths before routing anyway (:func:`has_encoded_separator`).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Sequence

from tenantkit._shared.apigw import GREEDY, PARAM, Api, Route, RouteTable, split_path
from tenantkit.local.stack_specs import RouteSpec

__all__ = ["Router", "has_encoded_separator"]

# Routing splits the path before decoding it, while the method ARN reads the decoded path:
# "/parks/p1%2Ffavorites%2Ff1" routes to DELETE /parks/{parkId} with an ARN that a policy
# for DELETE /parks/*/favorites/* allows. Until a deployed stack pins what API Gateway
# does with them, encoded separators inside a segment are refused (see docs/local.md).
_ENCODED_SEPARATOR = re.compile(r"%(?:2f|5c)", re.IGNORECASE)


def has_encoded_separator(path: str) -> bool:
    """Whether the raw path holds ``%2F`` or ``%5C`` (in any case)."""
    return _ENCODED_SEPARATOR.search(path) is not None


def segments_of(path: str) -> tuple[str, ...] | None:
    """The decoded segments of a raw path; one trailing ``/`` is ignored.

    None for a path with an empty segment (``/a//b``): the shared routing is defined on
    non-empty segments, and no API Gateway resource has an empty path part.
    """
    if not path.startswith("/"):
        return None
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    segments = tuple(urllib.parse.unquote(s) for s in split_path(path))
    return None if "" in segments else segments


def parameters(route: Route, segments: Sequence[str]) -> dict[str, str]:
    """``{param}`` values by name; ``{proxy+}`` takes the rest of the path, ``/``-joined."""
    found: dict[str, str] = {}
    for index, (part, kind) in enumerate(zip(split_path(route.path), route.shape, strict=True)):
        if kind == GREEDY:
            found[part[1:-2]] = "/".join(segments[index:])
        elif kind == PARAM:
            found[part[1:-1]] = segments[index]
    return found


class Router:
    """Routes ``(method, raw path)`` to a route of the stack and its path parameters."""

    def __init__(self, routes: Sequence[RouteSpec]) -> None:
        self._specs = {spec.route: spec for spec in routes}
        self._table = RouteTable(self._specs)

    def route(self, method: str, path: str) -> tuple[RouteSpec, dict[str, str]] | None:
        segments = segments_of(path)
        if segments is None:
            return None
        route = self._table.route(method, segments, Api.REST)
        if route is None:
            return None
        return self._specs[route], parameters(route, segments)
