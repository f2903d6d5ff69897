"""Evaluate an authorizer's IAM policy against a method ARN, as API Gateway does.

IAM semantics (:mod:`tenantkit._shared.iam`, the library's one matcher): a request is
allowed when some ``Allow`` statement matches it and no ``Deny`` statement does; an
explicit deny always wins. In ``Action`` and ``Resource``, ``*`` matches any run of
characters (``/`` included) and ``?`` exactly one. Actions compare case-insensitively,
resources case-sensitively. The whole document is validated before it is evaluated: a
malformed statement is an error even after a matching Deny, as API Gateway answers 500
for any malformed policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tenantkit._shared.iam import Decision, Statement, decide

__all__ = ["Decision", "PolicyError", "evaluate"]

INVOKE_ACTION = "execute-api:Invoke"
_STATEMENT_KEYS = {"Sid", "Effect", "Action", "Resource"}


class PolicyError(ValueError):
    """The policy document is malformed; API Gateway answers 500 for it."""


def _strings(statement: Mapping[str, Any], key: str) -> list[str]:
    value = statement.get(key)
    values: list[Any] = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, str) for v in values):
        raise PolicyError(f"statement {key} must be a string or a list of strings")
    return [str(v) for v in values]


def _statements(policy: object) -> list[Statement]:
    """The validated statements of a policy document; anything malformed is an error."""
    if not isinstance(policy, Mapping):
        raise PolicyError("policyDocument must be an object")
    statements = policy.get("Statement")
    if isinstance(statements, Mapping):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        raise PolicyError("policyDocument needs a Statement list")
    checked: list[Statement] = []
    for statement in statements:
        if not isinstance(statement, Mapping):
            raise PolicyError("each statement must be an object")
        unknown = set(statement) - _STATEMENT_KEYS
        if unknown:
            raise PolicyError(f"unsupported statement elements {sorted(unknown)}")
        effect = statement.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise PolicyError("statement Effect must be Allow or Deny")
        checked.append((effect, _strings(statement, "Action"), _strings(statement, "Resource")))
    return checked


def evaluate(policy: object, method_arn: str) -> Decision:
    """The decision of ``policy`` (a policy document) for invoking ``method_arn``."""
    return decide(_statements(policy), INVOKE_ACTION, method_arn)
