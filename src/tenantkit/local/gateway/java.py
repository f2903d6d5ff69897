"""What Java gives the Velocity of API Gateway, for the engine (:mod:`.vtl`) to use:
how values print, what is true, arithmetic and comparison, and the ``String``, ``Map``
and ``List`` methods templates call.

Velocity 1.7 is lenient where Python raises: arithmetic on what is not a number, or a
division by zero, is null; an ordering of values that cannot be ordered is false; ``==``
between values of different kinds compares their text (``5 == "5"``). Integer division
and remainder truncate toward zero, as Java's do.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

__all__ = [
    "LIST_METHODS",
    "MAP_METHODS",
    "OPERATORS",
    "STRING_METHODS",
    "java_bytes",
    "java_text",
    "velocity_true",
]


def java_bytes(text: str) -> bytes:
    """``text`` in UTF-8 as Java's ``String.getBytes`` writes it: a surrogate with no
    partner (a string decoded from ``"\\ud800"``), which UTF-8 cannot encode, is ``?``."""
    return text.encode("utf-8", "replace")


def java_text(value: Any) -> str:
    """``value`` as Java's ``toString`` prints it (what Velocity writes for a reference)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{java_text(k)}={java_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(java_text(v) for v in value) + "]"
    return str(value)


def velocity_true(value: Any) -> bool:
    """Velocity 1.7's truth: anything but null and ``false`` (``""``, ``0``, ``[]`` are true)."""
    return value is not None and value is not False


def _java_replacement(replacement: str) -> str:
    """A Java ``replaceAll`` replacement (``$1``, ``\\$``) as a Python one (``\\g<1>``)."""
    out: list[str] = []
    index = 0
    while index < len(replacement):
        char = replacement[index]
        if char == "\\" and index + 1 < len(replacement):
            out.append(replacement[index + 1].replace("\\", "\\\\"))
            index += 2
            continue
        group = re.match(r"\$(\d)", replacement[index:])
        if group is not None:
            out.append(f"\\g<{group.group(1)}>")
            index += 2
            continue
        out.append("\\\\" if char == "\\" else char)
        index += 1
    return "".join(out)


def _split(text: str, pattern: str) -> list[str]:
    """Java's ``String.split``: trailing empty strings are dropped."""
    parts = re.split(pattern, text)
    while parts and parts[-1] == "":
        parts.pop()
    return parts


STRING_METHODS: dict[str, Callable[..., Any]] = {
    "length": len,
    "isEmpty": lambda s: not s,
    "toLowerCase": str.lower,
    "toUpperCase": str.upper,
    "trim": lambda s: s.strip(" \t\n\r\x0b\x0c\x00"),
    "startsWith": str.startswith,
    "endsWith": str.endswith,
    "contains": lambda s, part: str(part) in s,
    "equals": lambda s, other: s == other,
    "indexOf": lambda s, part: s.find(str(part)),
    "substring": lambda s, start, end=None: s[start:end],
    "matches": lambda s, pattern: re.fullmatch(pattern, s) is not None,
    "replace": lambda s, old, new: s.replace(str(old), str(new)),
    "replaceAll": lambda s, pattern, repl: re.sub(pattern, _java_replacement(repl), s),
    "split": _split,
    "toString": lambda s: s,
}
MAP_METHODS: dict[str, Callable[..., Any]] = {
    "get": lambda m, key: m.get(key),
    "containsKey": lambda m, key: key in m,
    "isEmpty": lambda m: not m,
    "size": len,
    "keySet": lambda m: list(m),
    "values": lambda m: list(m.values()),
    "entrySet": lambda m: [{"key": k, "value": v} for k, v in m.items()],
    "put": lambda m, key, value: m.__setitem__(key, value),
    "putAll": lambda m, other: m.update(other),
    "remove": lambda m, key: m.pop(key, None),
    "toString": java_text,
}
LIST_METHODS: dict[str, Callable[..., Any]] = {
    "size": len,
    "isEmpty": lambda items: not items,
    "get": lambda items, index: items[index],
    "contains": lambda items, value: value in items,
    "add": lambda items, value: items.append(value) or True,
    "toString": java_text,
}


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _arithmetic(apply: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def calculate(a: Any, b: Any) -> Any:
        if not (_number(a) and _number(b)):
            return None
        try:
            return apply(a, b)
        except (ZeroDivisionError, OverflowError):
            return None

    return calculate


def _divide(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int):
        quotient = abs(a) // abs(b)
        return quotient if (a < 0) == (b < 0) else -quotient
    return a / b


def _remainder(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int):
        return a - b * _divide(a, b)
    return math.fmod(a, b)


def _ordering(compare: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def calculate(a: Any, b: Any) -> bool:
        try:
            return bool(compare(a, b))
        except TypeError:
            return False

    return calculate


def velocity_equals(a: Any, b: Any) -> bool:
    """Velocity 1.7's ``==``: numbers by value, same kinds by equality, others by text."""
    if a is None or b is None:
        return a is b
    if (_number(a) and _number(b)) or type(a) is type(b):
        return bool(a == b)
    return java_text(a) == java_text(b)


OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "+": _arithmetic(operator.add),
    "-": _arithmetic(operator.sub),
    "*": _arithmetic(operator.mul),
    "/": _arithmetic(_divide),
    "%": _arithmetic(_remainder),
    **{op: _ordering(operator.gt) for op in (">", "gt")},
    **{op: _ordering(operator.ge) for op in (">=", "ge")},
    **{op: _ordering(operator.lt) for op in ("<", "lt")},
    **{op: _ordering(operator.le) for op in ("<=", "le")},
    **{op: velocity_equals for op in ("==", "eq")},
    **{op: (lambda a, b: not velocity_equals(a, b)) for op in ("!=", "ne")},
    **{op: (lambda a, b: velocity_true(a) or velocity_true(b)) for op in ("||", "or")},
    **{op: (lambda a, b: velocity_true(a) and velocity_true(b)) for op in ("&&", "and")},
}
