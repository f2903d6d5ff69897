"""What each item of a DynamoDB ``UpdateExpression`` writes, for
:func:`~tenantkit.direct.asl.check_state_machine`.

A state machine's ``updateItem`` task could move an item into another tenant's partition
by writing a partition key, through a plain name or any ``#name`` placeholder (``#0``
included). The check needs each item's clause and what it writes to refuse that. The
grammar's tokens are few enough to read here; moto's full parser, the tests' oracle, would
be a heavy dependency for a build-time check.
"""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = ["UpdateItem", "update_items"]

#: ``#name`` and ``:value`` placeholders (any alphanumerics), names, numbers, and any other
#: character on its own.
_TOKEN = re.compile(r"[#:][A-Za-z0-9_]+|[A-Za-z_][A-Za-z0-9_]*|[0-9]+|\S")
_CLAUSES = frozenset({"SET", "REMOVE", "ADD", "DELETE"})


class UpdateItem(NamedTuple):
    """One comma-separated item of an update expression's clause."""

    clause: str
    """``SET``, ``REMOVE``, ``ADD`` or ``DELETE`` (``""`` before any clause keyword)."""
    tokens: list[str]
    """The item's tokens (``["#s", "=", ":s"]``)."""
    written: list[str]
    """The tokens naming what it writes: a ``SET``'s left side, the whole item otherwise."""


def update_items(expression: str) -> list[UpdateItem]:
    """Each item of ``expression``, in order.

    Commas and clause keywords split items only outside parentheses and brackets (a
    ``list_append(a, b)`` is one item). Clause keywords are reserved words in DynamoDB, so
    a bare attribute name can never be one.
    """
    items: list[UpdateItem] = []
    clause, depth = "", 0
    current: list[str] = []
    for part in [*_TOKEN.findall(expression), ","]:
        keyword = depth == 0 and part.upper() in _CLAUSES
        if (keyword or (depth == 0 and part == ",")) and current:
            left = current[: current.index("=")] if "=" in current else current
            items.append(UpdateItem(clause, current, left if clause == "SET" else current))
            current = []
        if keyword:
            clause = part.upper()
        elif depth > 0 or part != ",":
            current.append(part)
        depth += (part in "([") - (part in ")]")
    return items
