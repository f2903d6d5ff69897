"""IAM wildcard matching and Allow/Deny evaluation, as API Gateway applies them.

One matcher for the whole library: the role map's own checks, ``invocation_allowed``
and the local gateway's evaluation of any authorizer's policy all use it.

- In ``Action`` and ``Resource`` values, ``*`` matches any run of characters, ``/``
  included, and the empty run; ``?`` matches exactly one character. Nothing else is
  special. Actions compare case-insensitively, resources case-sensitively.
- An explicit ``Deny`` wins; otherwise any ``Allow``; otherwise the request is denied
  implicitly.

Patterns with ``?`` are compiled to regexes kept in a ``functools.lru_cache``, not in
``_shared.cache.LruCache``: a second cache mechanism on purpose. It holds compiled
patterns only (pure functions of the pattern, never per-tenant or expiring data), it is
bounded (1,024 entries), and it is process-wide because the same few patterns recur
across every role map and policy; LruCache's TTL and injectable clock serve nothing here.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Iterable, Sequence

__all__ = ["Decision", "Statement", "decide", "wildcard_match"]

# (Effect, Action values, Resource values) of one statement, already validated.
Statement = tuple[str, Sequence[str], Sequence[str]]


class Decision(enum.Enum):
    ALLOW = "allow"
    IMPLICIT_DENY = "implicit-deny"
    EXPLICIT_DENY = "explicit-deny"


def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """Whether ``value`` matches the IAM wildcard ``pattern`` as a whole."""
    if ignore_case:
        pattern, value = pattern.lower(), value.lower()
    if "?" in pattern:
        return _regex(pattern).fullmatch(value) is not None
    # Only ``*``: the first and last pieces are anchored, and taking each middle piece
    # at its leftmost place leaves the most room for the rest, so no backtracking.
    parts = pattern.split("*")
    if len(parts) == 1:
        return pattern == value
    if not value.startswith(parts[0]) or not value.endswith(parts[-1]):
        return False
    position, end = len(parts[0]), len(value) - len(parts[-1])
    if end < position:
        return False
    for part in parts[1:-1]:
        found = value.find(part, position, end)
        if found < 0:
            return False
        position = found + len(part)
    return True


@functools.lru_cache(maxsize=1024)
def _regex(pattern: str) -> re.Pattern[str]:
    pieces = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(pieces), re.DOTALL)


def decide(statements: Iterable[Statement], action: str, resource: str) -> Decision:
    """The decision of ``statements`` for ``action`` on ``resource``."""
    allowed = False
    for effect, actions, resources in statements:
        if any(wildcard_match(a, action, ignore_case=True) for a in actions) and any(
            wildcard_match(r, resource) for r in resources
        ):
            if effect == "Deny":
                return Decision.EXPLICIT_DENY
            allowed = True
    return Decision.ALLOW if allowed else Decision.IMPLICIT_DENY
