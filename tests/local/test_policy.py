"""IAM policy evaluation as API Gateway applies it to an authorizer's policy."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantkit.local.policy import Decision, PolicyError, evaluate

PREFIX = "arn:aws:execute-api:us-east-1:123456789012:api/v1"


def policy(*statements: tuple[str, Any, Any]) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": e, "Action": a, "Resource": r} for e, a, r in statements],
    }


@pytest.mark.parametrize(
    ("resource", "arn", "decision"),
    [
        (f"{PREFIX}/GET/parks", f"{PREFIX}/GET/parks", Decision.ALLOW),
        (f"{PREFIX}/GET/parks", f"{PREFIX}/GET/parks-admin", Decision.IMPLICIT_DENY),
        (f"{PREFIX}/GET/parks/*", f"{PREFIX}/GET/parks/a/b", Decision.ALLOW),  # * crosses /
        (f"{PREFIX}/GET/parks/*", f"{PREFIX}/GET/parks", Decision.IMPLICIT_DENY),
        (f"{PREFIX}/*/parks", f"{PREFIX}/DELETE/parks", Decision.ALLOW),
        (f"{PREFIX}/GET/p?rks", f"{PREFIX}/GET/parks", Decision.ALLOW),
        (f"{PREFIX}/GET/p?rks", f"{PREFIX}/GET/prks", Decision.IMPLICIT_DENY),
        (f"{PREFIX}/GET/PARKS", f"{PREFIX}/GET/parks", Decision.IMPLICIT_DENY),  # case matters
        (
            "arn:aws:execute-api:us-east-1:123456789012:other/v1/*",
            f"{PREFIX}/GET/x",
            Decision.IMPLICIT_DENY,
        ),
        (f"{PREFIX}/GET/a.c", f"{PREFIX}/GET/abc", Decision.IMPLICIT_DENY),  # no regex leaks
        ("*", f"{PREFIX}/GET/anything", Decision.ALLOW),
    ],
)
def test_resource_wildcards(resource: str, arn: str, decision: Decision) -> None:
    assert evaluate(policy(("Allow", "execute-api:Invoke", resource)), arn) is decision


@pytest.mark.parametrize(
    ("action", "decision"),
    [
        ("execute-api:Invoke", Decision.ALLOW),
        ("EXECUTE-API:invoke", Decision.ALLOW),
        ("execute-api:*", Decision.ALLOW),
        ("*", Decision.ALLOW),
        ("execute-api:Inv?ke", Decision.ALLOW),
        (["s3:GetObject", "execute-api:Invoke"], Decision.ALLOW),
        ("execute-api:ManageConnections", Decision.IMPLICIT_DENY),
        ("s3:*", Decision.IMPLICIT_DENY),
    ],
)
def test_actions(action: Any, decision: Decision) -> None:
    assert evaluate(policy(("Allow", action, f"{PREFIX}/*")), f"{PREFIX}/GET/x") is decision


def test_explicit_deny_wins_whatever_the_order() -> None:
    arn = f"{PREFIX}/POST/parks"
    allow = ("Allow", "execute-api:Invoke", f"{PREFIX}/*")
    deny = ("Deny", "execute-api:Invoke", f"{PREFIX}/POST/*")
    assert evaluate(policy(allow, deny), arn) is Decision.EXPLICIT_DENY
    assert evaluate(policy(deny, allow), arn) is Decision.EXPLICIT_DENY
    assert evaluate(policy(allow, deny), f"{PREFIX}/GET/parks") is Decision.ALLOW


def test_single_statement_object_is_accepted() -> None:
    document = {"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}
    assert evaluate(document, f"{PREFIX}/GET/x") is Decision.ALLOW


@pytest.mark.parametrize(
    "document",
    [
        None,
        "Allow",
        {},
        {"Statement": []},
        {"Statement": ["x"]},
        {"Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]},
        {"Statement": [{"Effect": "Allow", "Action": 1, "Resource": "*"}]},
        {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": []}]},
        {"Statement": [{"Effect": "Allow", "Action": "*"}]},
        {"Statement": [{"Effect": "Allow", "NotAction": "x", "Action": "*", "Resource": "*"}]},
        {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {}}]},
    ],
)
def test_malformed_policies_are_errors(document: Any) -> None:
    with pytest.raises(PolicyError):
        evaluate(document, f"{PREFIX}/GET/x")


segment = st.text(alphabet="abcxyz-_.{}+", min_size=1, max_size=6)


@settings(max_examples=100, deadline=None)
@given(st.lists(segment, min_size=1, max_size=4), st.lists(segment, min_size=1, max_size=4))
def test_literal_resources_match_only_themselves(path: list[str], other: list[str]) -> None:
    resource = f"{PREFIX}/GET/" + "/".join(path)
    arn = f"{PREFIX}/GET/" + "/".join(other)
    expected = Decision.ALLOW if path == other else Decision.IMPLICIT_DENY
    assert evaluate(policy(("Allow", "execute-api:Invoke", resource)), arn) is expected
