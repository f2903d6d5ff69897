"""Request validators read a model's ``pattern`` as ECMA-262 does, as API Gateway's does.

Python's ``re.search`` differs where it changes answers on hostile input: ``$`` also
matches before a final newline, ``.`` matches ``\\r`` and U+2028/U+2029, and ``\\d``/``\\w``
take any Unicode digit or letter. Each rule's model below is written out by hand (what
ECMA-262 accepts), never through the code under test.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantkit.local.gateway.messages import Refusal
from tenantkit.local.gateway.validation import check_models, validate_request
from tenantkit.local.template.openapi import Validation

#: Characters where the two dialects part: line terminators, Unicode digits and letters,
#: and Unicode spaces (ECMA's ``\s`` has U+00A0 and U+FEFF; Python's has U+001C-U+001F).
TRICKY = "az09-_ \n\r\t\u2028\u2029\u0663\u00e9\u00a0\ufeff\x1c"
SLUG = set("abcdefghijklmnopqrstuvwxyz0123456789-")
LINE_TERMINATORS = set("\n\r\u2028\u2029")
ECMA_SPACES = set("\t\n\x0b\x0c\r \u00a0\u1680\u2028\u2029\u202f\u205f\u3000\ufeff") | {
    chr(c) for c in range(0x2000, 0x200B)
}


def accepts(schema: dict[str, Any], document: Any) -> bool:
    validation = Validation(True, False, {"application/json": schema}, ())
    try:
        validate_request(validation, {"header": {}}, json.dumps(document).encode())
    except Refusal as refusal:
        status = refusal.response.status
    else:
        return True
    assert status == 400
    return False


def field(pattern: str) -> dict[str, Any]:
    return {"type": "object", "properties": {"id": {"type": "string", "pattern": pattern}}}


def test_an_anchored_pattern_refuses_a_trailing_newline() -> None:
    schema = field("^[a-z0-9-]{1,64}$")
    assert accepts(schema, {"id": "p1"})
    for hostile in ("p1\n", "p1\r", "p1\n\n", "\np1"):
        assert not accepts(schema, {"id": hostile}), hostile


@settings(max_examples=100)
@given(
    st.text(alphabet=TRICKY, max_size=8)
    | st.tuples(st.text(alphabet="p1-", min_size=1), st.sampled_from("\n\r")).map("".join)
)
def test_slug_pattern_matches_the_ecma_model(text: str) -> None:
    model = 1 <= len(text) <= 64 and set(text) <= SLUG
    assert accepts(field("^[a-z0-9-]{1,64}$"), {"id": text}) == model


@settings(max_examples=100)
@given(st.text(alphabet=TRICKY, max_size=5))
def test_dot_digit_word_and_space_match_the_ecma_model(text: str) -> None:
    dot = 1 <= len(text) <= 3 and not set(text) & LINE_TERMINATORS
    assert accepts(field("^.{1,3}$"), {"id": text}) == dot
    digits = bool(text) and set(text) <= set("0123456789")
    assert accepts(field("^\\d+$"), {"id": text}) == digits
    word = bool(text) and all(c.isascii() and (c.isalnum() or c == "_") for c in text)
    assert accepts(field("^\\w+$"), {"id": text}) == word
    spaces = set(text) <= ECMA_SPACES
    assert accepts(field("^\\s*$"), {"id": text}) == spaces
    assert accepts(field("^[\\s]*$"), {"id": text}) == spaces
    assert accepts(field("^\\S*$"), {"id": text}) == (not set(text) & ECMA_SPACES)
    no_space_or_a = not set(text) & (ECMA_SPACES | {"a"})
    assert accepts(field("^[^\\sa]*$"), {"id": text}) == no_space_or_a
    assert accepts(field("^[^\\Sa]*$"), {"id": text}) == spaces  # neither a non-space nor a
    assert accepts(field("^[a\\S]*$"), {"id": text}) == (not set(text) & ECMA_SPACES)


@pytest.mark.parametrize(
    ("pattern", "matching", "not_matching"),
    [
        ("^a{,2}$", "a{,2}", "aa"),  # not a quantifier in ECMA: literal text
        ("^\\Z$", "Z", ""),  # an identity escape, not Python's end of string
        ("^[]$", None, ""),  # the empty class matches nothing
        ("^[^]$", "\n", ""),  # any one character
        ("^(?<x>a)\\k<x>$", "aa", "ab"),  # named groups and their backreference
        ("^\\cJ$", "\n", "cJ"),  # a control escape
        ("^a|b$", "a\n", "b\n"),  # $ binds to the second alternative only
    ],
)
def test_ecma_only_syntax_is_read_as_ecma_reads_it(
    pattern: str, matching: str | None, not_matching: str
) -> None:
    if matching is not None:
        assert accepts(field(pattern), {"id": matching})
    assert not accepts(field(pattern), {"id": not_matching})


def test_a_character_past_the_bmp_is_two_utf16_units() -> None:
    """ECMA-262 without the ``u`` flag matches UTF-16 code units, not code points."""
    emoji = "\U0001f600"
    assert not accepts(field("^.$"), {"id": emoji})
    assert accepts(field("^..$"), {"id": emoji})
    assert accepts(field("^\ud83d\ude00$"), {"id": emoji})
    assert accepts(field(f"^{emoji}$"), {"id": emoji})
    no_surrogates = field("^[^\\ud800-\\udfff]*$")  # a lone one, or any pair: an emoji
    assert accepts(no_surrogates, {"id": "caf\u00e9"})
    assert not accepts(no_surrogates, {"id": emoji})
    assert not accepts(no_surrogates, {"id": "\ud800"})
    pairs_only = field("^(?:[^\\ud800-\\udfff]|[\\ud800-\\udbff][\\udc00-\\udfff])*$")
    assert accepts(pairs_only, {"id": f"caf\u00e9 {emoji}"})
    assert not accepts(pairs_only, {"id": "\ud800"})
    assert not accepts(pairs_only, {"id": "\ude00\ud83d"})


def test_pattern_properties_and_additional_properties_use_ecma_patterns() -> None:
    schema = {
        "type": "object",
        "patternProperties": {"^x-[a-z]+$": {"type": "string"}},
        "additionalProperties": False,
    }
    assert accepts(schema, {"x-trace": "t"})
    assert not accepts(schema, {"x-trace": 5})
    assert not accepts(schema, {"x-trace\n": "t"})  # an extra key, not one of the pattern's


def test_a_pattern_that_is_no_regular_expression_fails_at_start() -> None:
    bad = Validation(True, False, {"application/json": field("^(a$")}, ())
    assert "has a bad pattern '^(a$'" in str(check_models(bad))
    for ecma_only in ("^[]$", "^(?<x>a)\\k<x>$"):  # Python's re refuses both as written
        good = Validation(True, False, {"application/json": field(ecma_only)}, ())
        assert check_models(good) is None
    properties = {"type": "object", "patternProperties": {"(": {}}}
    assert "bad pattern '('" in str(check_models(Validation(True, False, {"a/b": properties}, ())))
