"""Evaluate an authorizer's IAM policy against a method ARN, as API Gateway does.

IAM semantics: a request is allowed when some ``Allow`` statement matches it and no
``Deny`` statement does; an explicit deny always wins. In ``Action`` and ``Resource``,
``*`` matches any run of characters (``/`` included) and ``?`` exactly one. Actions
compare case-insensitively, resources case-sensitively.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["Decision", "PolicyError", "evaluate"]

INVOKE_ACTION = "execute-api:Invoke"
_STATEMENT_KEYS = {"Sid", "Effect", "Action", "Resource"}


class PolicyError(ValueError):
    """The policy document is malformed; API Gateway answers 500 for it."""


class Decision(enum.Enum):
    ALLOW = "allow"
    IMPLICIT_DENY = "implicit-deny"
    EXPLICIT_DENY = "explicit-deny"


@functools.lru_cache(maxsize=1024)
def _pattern(glob: str, ignore_case: bool) -> re.Pattern[str]:
    parts = [".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob]
    return re.compile("".join(parts), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _strings(statement: Mapping[str, Any], key: str) -> list[str]:
    value = statement.get(key)
    values: list[Any] = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, str) for v in values):
        raise PolicyError(f"statement {key} must be a string or a list of strings")
    return [str(v) for v in values]


def evaluate(policy: object, method_arn: str) -> Decision:
    """The decision of ``policy`` (a policy document) for invoking ``method_arn``."""
    if not isinstance(policy, Mapping):
        raise PolicyError("policyDocument must be an object")
    statements = policy.get("Statement")
    if isinstance(statements, Mapping):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        raise PolicyError("policyDocument needs a Statement list")
    allowed = False
    for statement in statements:
        if not isinstance(statement, Mapping):
            raise PolicyError("each statement must be an object")
        unknown = set(statement) - _STATEMENT_KEYS
        if unknown:
            raise PolicyError(f"unsupported statement elements {sorted(unknown)}")
        effect = statement.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise PolicyError("statement Effect must be Allow or Deny")
        actions = _strings(statement, "Action")
        resources = _strings(statement, "Resource")
        matches = any(_pattern(a, True).fullmatch(INVOKE_ACTION) for a in actions) and any(
            _pattern(r, False).fullmatch(method_arn) for r in resources
        )
        if matches and effect == "Deny":
            return Decision.EXPLICIT_DENY
        allowed = allowed or matches
    return Decision.ALLOW if allowed else Decision.IMPLICIT_DENY
