"""Test oracles for API Gateway routing and IAM matching, written apart from tenantkit.

Round-2 decision 5: an oracle never shares code with what it checks, so nothing here
imports tenantkit. The models are deliberately plain (recursion, brute force) so that
they can be read against AWS's documentation:

- REST APIs choose the resource segment by segment, left to right: a literal child
  beats a ``{param}`` child, which beats a ``{proxy+}`` child; then the declared method
  beats ``ANY``. ``rest_walk`` never backtracks (a dead end is "no route");
  ``rest_backtracking`` backtracks on a dead end and on a resource without the method.
- HTTP APIs pick the most specific route: full (non-greedy) matches first, literal
  segments beating parameters from the left; then greedy routes; then ``$default``
  if declared (only HTTP APIs have it), else no route. At one path the declared
  method beats ``ANY``.

A request is ``(method, segments)``; its method ARN path is ``METHOD/seg/seg``. An
empty segment ``""`` stands for ``//`` or, last, a trailing ``/``: such requests are
outside the routing models (``in_model``), and the policy must refuse them.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
Request = tuple[str, tuple[str, ...]]


def split(key: str) -> tuple[str, tuple[str, ...]]:
    """``"GET /a/{b}"`` -> ``("GET", ("a", "{b}"))``."""
    method, path = key.split(" ", 1)
    return method, () if path == "/" else tuple(path[1:].split("/"))


def kind(segment: str) -> str:
    if segment.startswith("{") and segment.endswith("+}"):
        return "greedy"
    return "param" if segment.startswith("{") else "literal"


PARAM, GREEDY = "{}", "{+}"  # markers no literal segment can spell


def shape(segments: Sequence[str]) -> tuple[str, ...]:
    """A path with parameter names erased: two routes at one shape are one resource."""
    return tuple({"literal": s, "param": PARAM, "greedy": GREEDY}[kind(s)] for s in segments)


def fits(segments: Sequence[str], request: Sequence[str]) -> bool:
    """Whether a route path matches the request path, by plain recursion."""
    if not segments:
        return not request
    head = kind(segments[0])
    if head == "greedy":
        return len(request) >= 1
    if not request or (head == "literal" and segments[0] != request[0]):
        return False
    return fits(segments[1:], request[1:])


DEFAULT = "$default"


def in_model(request: Request) -> bool:
    """Whether the request has no empty segment (no ``//``, no trailing ``/``)."""
    return "" not in request[1]


def _by_shape(keys: Iterable[str]) -> dict[tuple[str, ...], dict[str, str]]:
    table: dict[tuple[str, ...], dict[str, str]] = {}
    for key in keys:
        if key == DEFAULT:
            continue
        method, segments = split(key)
        table.setdefault(shape(segments), {})[method] = key
    return table


def _method_at(methods: dict[str, str], method: str) -> str | None:
    return methods.get(method) or methods.get("ANY")


def rest_walk(keys: Iterable[str], request: Request) -> str | None:
    """REST routing without backtracking: one greedy walk down the resource tree."""
    table = _by_shape(keys)
    method, path = request
    chosen: tuple[str, ...] = ()
    for position, value in enumerate(path):
        children = {s[position] for s in table if len(s) > position and s[:position] == chosen}
        if value in children:
            chosen += (value,)
        elif PARAM in children:
            chosen += (PARAM,)
        elif GREEDY in children:
            chosen += (GREEDY,)
            break
        else:
            return None
    methods = table.get(chosen)
    return _method_at(methods, method) if methods else None


def rest_backtracking(keys: Iterable[str], request: Request) -> str | None:
    """REST routing that backtracks: depth first, literal before param before greedy."""
    table = _by_shape(keys)
    method, path = request

    def walk(chosen: tuple[str, ...], rest: tuple[str, ...]) -> str | None:
        if not rest:
            methods = table.get(chosen)
            return _method_at(methods, method) if methods else None
        position = len(chosen)
        children = {s[position] for s in table if len(s) > position and s[:position] == chosen}
        for child in (rest[0], PARAM):
            if child in children and (found := walk((*chosen, child), rest[1:])):
                return found
        if GREEDY in children:
            methods = table.get((*chosen, GREEDY))
            return _method_at(methods, method) if methods else None
        return None

    return walk((), path)


def http_api(keys: Iterable[str], request: Request) -> str | None:
    """HTTP API routing: the most specific matching route that serves the method, else
    ``$default`` if it is declared."""
    keys = list(keys)
    method, path = request
    candidates = []
    for route_shape, methods in _by_shape(keys).items():
        key = _method_at(methods, method)
        segments = split(next(iter(methods.values())))[1]
        if key is not None and fits(segments, path):
            greedy = bool(route_shape) and route_shape[-1] == GREEDY
            order = {"literal": 0, "param": 1, "greedy": 2}
            candidates.append(((greedy, [order[kind(s)] for s in segments]), key))
    if candidates:
        return min(candidates)[1]
    return DEFAULT if DEFAULT in keys else None


MODELS: dict[str, Callable[[Iterable[str], Request], str | None]] = {
    "rest-walk": rest_walk,
    "rest-backtracking": rest_backtracking,
    "http": http_api,
}


@functools.lru_cache(maxsize=4096)
def _compiled(pattern: str) -> re.Pattern[str]:
    parts = [".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern]
    return re.compile("".join(parts), re.DOTALL)


def glob(pattern: str, value: str) -> bool:
    """IAM matching: ``*`` is any run of characters (``/`` too, or none), ``?`` one."""
    return _compiled(pattern).fullmatch(value) is not None


def policy_allows(policy: dict[str, Any], arn: str) -> bool:
    """IAM evaluation of an authorizer policy: a Deny wins, else an Allow, else deny."""
    assert policy["Version"] == "2012-10-17"
    allowed = False
    for statement in policy["Statement"]:
        assert statement["Action"] == "execute-api:Invoke"
        assert statement["Effect"] in ("Allow", "Deny")
        resources = statement["Resource"]
        resources = [resources] if isinstance(resources, str) else resources  # IAM takes either
        if any(glob(resource, arn) for resource in resources):
            if statement["Effect"] == "Deny":
                return False
            allowed = True
    return allowed


def may_call(data: dict[str, Any], roles: Iterable[str], key: str) -> bool:
    """The role map's intent, read from the raw declaration."""
    held = set(roles)
    granted = key in data.get("authenticated", []) or bool(held & set(data["routes"].get(key, ())))
    denied = any(key in data.get("deny", {}).get(role, []) for role in held)
    return granted and not denied


def role_sets(roles: Sequence[str]) -> list[frozenset[str]]:
    return [
        frozenset(combo)
        for size in range(len(roles) + 1)
        for combo in itertools.combinations(roles, size)
    ]


def arn_path(request: Request) -> str:
    method, path = request
    return f"{method}/{'/'.join(path)}"
