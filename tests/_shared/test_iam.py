"""IAM wildcard matching and Allow/Deny evaluation, against the test's own IAM model."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantkit._shared.iam import Decision, decide, wildcard_match

from .model import glob

PIECES = ["a", "b", "ab", "/", "-", "*", "?"]


@settings(max_examples=300, deadline=None)
@given(
    pattern=st.lists(st.sampled_from(PIECES), max_size=8).map("".join),
    value=st.lists(st.sampled_from([p for p in PIECES if p not in "*?"]), max_size=8).map("".join),
)
def test_matching_equals_the_model(pattern: str, value: str) -> None:
    assert wildcard_match(pattern, value) is glob(pattern, value)


@pytest.mark.parametrize(
    ("pattern", "value", "matches"),
    [
        ("a*", "a", True),  # a star matches nothing
        ("*a", "a", True),
        ("a*a", "a", False),  # anchored pieces may not share a character
        ("a*a*a", "aaa", True),
        ("a*a*a", "aa", False),
        ("x/*/x", "x/p/q/x", True),  # a star crosses "/"
        ("x/*/x", "x/x", False),
        ("a?c", "abc", True),
        ("a?c", "ac", False),
        ("a?c", "a/c", True),  # "?" is any one character, "/" too
        ("*?", "", False),
        ("?*", "a", True),
        ("a.c", "abc", False),  # no regular-expression syntax leaks through
        ("a[b]c", "abc", False),
        ("a+", "aa", False),
        ("*b*a*", "ab", False),  # middle pieces in the pattern's order, after each other
        ("*ab*b*", "ab", False),  # ... and never overlapping
        ("*b*a*", "bba", True),
    ],
)
def test_matching_boundaries(pattern: str, value: str, matches: bool) -> None:
    assert wildcard_match(pattern, value) is matches


def test_case_is_ignored_only_when_asked() -> None:
    assert wildcard_match("execute-api:Invoke", "EXECUTE-API:invoke", ignore_case=True)
    assert wildcard_match("Execute-api:inv?ke", "execute-api:Invoke", ignore_case=True)
    assert not wildcard_match("GET/PARKS", "GET/parks")


INVOKE = "execute-api:Invoke"


@pytest.mark.parametrize(
    ("statements", "decision"),
    [
        ([("Allow", ["*"], ["r/*"])], Decision.ALLOW),
        ([("Allow", ["*"], ["r/x"])], Decision.IMPLICIT_DENY),
        ([("Allow", ["*"], ["r/*"]), ("Deny", ["*"], ["r/a"])], Decision.EXPLICIT_DENY),
        ([("Deny", ["*"], ["r/a"]), ("Allow", ["*"], ["r/*"])], Decision.EXPLICIT_DENY),
        ([("Deny", ["*"], ["r/b"]), ("Allow", ["*"], ["r/*"])], Decision.ALLOW),
        ([("Deny", ["s3:*"], ["r/a"]), ("Allow", [INVOKE], ["r/a"])], Decision.ALLOW),
        ([("Allow", ["s3:*"], ["r/a"])], Decision.IMPLICIT_DENY),
        # Actions compare case-insensitively: a Deny spelled in lower case still wins.
        ([("Allow", ["EXECUTE-API:invoke"], ["r/a"])], Decision.ALLOW),
        (
            [("Allow", ["*"], ["r/*"]), ("Deny", ["execute-api:invoke"], ["r/a"])],
            Decision.EXPLICIT_DENY,
        ),
        ([], Decision.IMPLICIT_DENY),
    ],
)
def test_an_explicit_deny_wins_whatever_the_order(
    statements: list[tuple[str, list[str], list[str]]], decision: Decision
) -> None:
    assert decide(statements, INVOKE, "r/a") is decision
