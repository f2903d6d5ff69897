"""A model's ``pattern`` as ECMA-262 reads it, translated to a Python regular expression.

JSON Schema says a ``pattern`` is an ECMA-262 regular expression, and API Gateway's
validator reads it so. Python's ``re`` gives other answers exactly where hostile input
probes: ``$`` also matches before a final newline (``^[a-z0-9-]{1,64}$`` takes
``"p1\\n"``), ``.`` takes ``\\r``, U+2028 and U+2029, ``\\d``, ``\\w`` and ``\\b`` take any
Unicode digit or letter, and ``\\s`` is another set. :func:`ecma_regex` rewrites a
pattern (no flags, as a schema's has none) so that Python answers as ECMA-262 does:

- a string is UTF-16 code units, as ECMA-262 (without the ``u`` flag) matches it:
  :func:`ecma_search` splits a character past U+FFFF into its surrogate pair, in the
  pattern and in the text, so ``.`` takes one unit and ``[^\\ud800-\\udfff]`` refuses
  an emoji;
- outside a class, ``$`` is ``\\Z`` and ``.`` excludes ECMA's four line terminators;
- ``\\d``, ``\\w``, ``\\b`` are ASCII (compiled with ``re.ASCII``); ``\\s`` and ``\\S``
  are ECMA's white space and line terminators, inside classes too (``[^\\Sa]``);
- ECMA-only syntax: ``[]`` matches nothing, ``[^]`` any character, ``(?<name>)`` and
  ``\\k<name>`` are Python's named groups, ``\\cJ`` a control character; a ``{`` that
  starts no quantifier (``a{,2}``) and an escaped letter ECMA does not know (``\\Z``,
  ``\\A``) are literal text, as in ECMA's web-compatible grammar.

Hand-written because no ECMA-262 engine is among the dependencies and the differences
that matter to a validator are the few above.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["ecma_regex", "ecma_search"]

# ECMA's WhiteSpace and LineTerminator, as the body of a character class.
_SPACES = "\t\n\x0b\x0c\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_DOT = "[^\n\r\u2028\u2029]"
_QUANTIFIER = re.compile(r"\{\d+(?:,\d*)?\}")
_HEX = re.compile(r"x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}")
_NAME = re.compile(r"<([A-Za-z_$][\w$]*)>")
_KNOWN_LETTERS = set("dDwWbBtnvfrsS")
_CLASS_SPECIAL = set("[]^\\&~|")  # literal inside a class; escaped for Python's parser
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def _utf16_units(text: str) -> str:
    """``text`` with each character past U+FFFF as its two UTF-16 surrogates."""
    if text.isascii():
        return text

    def pair(match: re.Match[str]) -> str:
        code = ord(match.group()) - 0x10000
        return chr(0xD800 + (code >> 10)) + chr(0xDC00 + (code & 0x3FF))

    return _ASTRAL.sub(pair, text)


def ecma_search(pattern: str, text: str) -> bool:
    """Whether ``pattern`` matches somewhere in ``text``, as ECMA-262's ``RegExp.test``."""
    return ecma_regex(pattern).search(_utf16_units(text)) is not None


@lru_cache(maxsize=1024)
def ecma_regex(pattern: str) -> re.Pattern[str]:
    """``pattern`` compiled with ECMA-262's meaning (``re.error`` if it is not one)."""
    return re.compile(_translate(_utf16_units(pattern)), re.ASCII)


def _translate(pattern: str) -> str:
    out: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            text, index = _escape(pattern, index, in_class=False)
            out.append(text)
            continue
        if char == "[":
            text, index = _class(pattern, index)
            out.append(text)
            continue
        if pattern.startswith("(?<", index) and pattern[index + 3 : index + 4] not in "=!":
            out.append("(?P<")
            index += 3
            continue
        if char == "$":
            out.append(r"\Z")
        elif char == ".":
            out.append(_DOT)
        elif char == "{" and not _QUANTIFIER.match(pattern, index):
            out.append(r"\{")
        else:
            out.append(char)
        index += 1
    return "".join(out)


def _escape(pattern: str, index: int, *, in_class: bool) -> tuple[str, int]:
    """The Python text of the escape at ``pattern[index]`` and the index after it."""
    if index + 1 >= len(pattern):
        raise re.error("a pattern cannot end with a backslash")
    char = pattern[index + 1]
    after = index + 2
    if char == "s":
        return (_SPACES if in_class else f"[{_SPACES}]"), after
    if char == "S":  # in a class, _class rewrites the whole class
        return f"[^{_SPACES}]", after
    control = pattern[after : after + 1]
    if char == "c" and control.isascii() and control.isalpha():
        return f"\\x{ord(control) % 32:02x}", after + 1
    if char in "xu":
        code = _HEX.match(pattern, index + 1)
        if code is None:
            return char, after  # no hex digits follow: the letter itself
        return pattern[index : code.end()], code.end()
    if char == "k" and not in_class:
        name = _NAME.match(pattern, after)
        if name is not None:
            return f"(?P={name.group(1)})", name.end()
    if char.isdigit() or char in _KNOWN_LETTERS:
        return pattern[index:after], after
    if char.isalpha():
        return char, after  # an identity escape: the letter itself
    return re.escape(char), after


def _class(pattern: str, index: int) -> tuple[str, int]:
    """The class opening at ``pattern[index]``: ``]`` first closes it, as in ECMA."""
    index += 1
    negated = pattern.startswith("^", index)
    index += negated
    items: list[str] = []
    non_space = False
    while True:
        if index >= len(pattern):
            raise re.error("unterminated character class")
        char = pattern[index]
        if char == "]":
            break
        if pattern.startswith("\\S", index):
            non_space, index = True, index + 2
            continue
        if char == "\\":
            text, index = _escape(pattern, index, in_class=True)
            items.append(text)
            continue
        items.append("\\" + char if char in _CLASS_SPECIAL else char)
        index += 1
    body = "".join(items)
    index += 1
    if non_space:  # Python cannot put a negated set inside a class: say it with groups
        if negated:  # neither an item nor a non-space: a space that is no item
            return (f"(?:(?![{body}])[{_SPACES}])" if body else f"[{_SPACES}]"), index
        return (f"(?:[{body}]|[^{_SPACES}])" if body else f"[^{_SPACES}]"), index
    if not body:
        return ("(?s:.)" if negated else "(?!)"), index
    return f"[{'^' if negated else ''}{body}]", index
