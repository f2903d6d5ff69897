"""Compile ``boto3.dynamodb.conditions`` objects into expression strings, and police them.

Callers never write expression strings or placeholder maps: a raw string could compare
a partition key against another tenant's value, or smuggle expression syntax into a
name. Conditions are compiled here with generated ``#nN``/``:vN`` placeholders, and a
partition-key attribute (of the table or of any index) may only appear inside
``attribute_exists``/``attribute_not_exists``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from tenantkit.dynamo.marshal import check_text, serialize
from tenantkit.errors import InvalidExpressionError

__all__ = ["Placeholders", "compile_condition", "compile_update"]

# One path segment: a name, then optional list indexes such as [0][12].
_SEGMENT = re.compile(r"([^.\[\]]+)((?:\[\d+\])*)\Z")
_EXISTENCE = frozenset({"attribute_exists", "attribute_not_exists"})
_KEY_OPERATORS = frozenset({"=", "<", "<=", ">", ">=", "BETWEEN", "begins_with"})


class Placeholders:
    """Allocates ``#nN`` name and ``:vN`` value placeholders for one request."""

    __slots__ = ("names", "values")

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, Any] = {}

    def name(self, attribute: str) -> str:
        """A placeholder for one attribute name (reused if the name repeats)."""
        check_text(attribute)
        for placeholder, existing in self.names.items():
            if existing == attribute:
                return placeholder
        placeholder = f"#n{len(self.names)}"
        self.names[placeholder] = attribute
        return placeholder

    def path(self, path: str) -> tuple[str, str]:
        """Placeholders for a document path ``a.b[0]``; returns (expression, top-level name)."""
        if not isinstance(path, str) or not path:
            raise InvalidExpressionError("attribute names must be non-empty strings")
        check_text(path)
        parts = []
        for segment in path.split("."):
            match = _SEGMENT.match(segment)
            if match is None:
                raise InvalidExpressionError(
                    "attribute paths are names separated by '.', each optionally followed by "
                    "numeric list indexes such as [0]"
                )
            parts.append(self.name(match.group(1)) + match.group(2))
        return ".".join(parts), path.split(".", 1)[0].split("[", 1)[0]

    def value(self, value: object) -> str:
        """A placeholder for one marshalled value."""
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = serialize(value)
        return placeholder

    def apply(self, request: dict[str, Any]) -> dict[str, Any]:
        """Add the placeholder maps to ``request`` (only the non-empty ones)."""
        if self.names:
            request["ExpressionAttributeNames"] = self.names
        if self.values:
            request["ExpressionAttributeValues"] = self.values
        return request


def _conditions() -> Any:
    # Imported lazily: whoever built a condition object has already imported it.
    from boto3.dynamodb import conditions

    return conditions


def compile_condition(
    condition: object,
    placeholders: Placeholders,
    protected: frozenset[str],
    *,
    what: str = "condition",
) -> str:
    """The expression string of ``condition``, refusing comparisons on ``protected`` names."""
    if isinstance(condition, str):
        raise InvalidExpressionError(
            f"raw expression strings are refused for {what}; build it with "
            "boto3.dynamodb.conditions.Attr/Key so tenantkit can check and scope it"
        )
    conditions = _conditions()
    if not isinstance(condition, conditions.ConditionBase):
        raise InvalidExpressionError(
            f"{what} must be a boto3.dynamodb.conditions object such as Attr('x').eq(1)"
        )
    return _compile(condition, placeholders, protected, conditions, what)


def _compile(
    node: Any, placeholders: Placeholders, protected: frozenset[str], conditions: Any, what: str
) -> str:
    expression = node.get_expression()
    operator: str = expression["operator"]
    parts: list[str] = []
    for value in expression["values"]:
        if isinstance(value, conditions.ConditionBase):
            parts.append(_compile(value, placeholders, protected, conditions, what))
        elif isinstance(value, conditions.AttributeBase):
            text, top = placeholders.path(value.name)
            if top in protected and operator not in _EXISTENCE:
                raise InvalidExpressionError(
                    f"{what} compares the partition-key attribute {top!r}; only "
                    "attribute_exists/attribute_not_exists are allowed on it, because the "
                    "tenant prefix is managed by TenantTable"
                )
            parts.append(text)
        elif node.has_grouped_values:
            if not isinstance(value, list | tuple | set | frozenset) or not value:
                raise InvalidExpressionError("is_in() needs a non-empty list of values")
            parts.append("(" + ", ".join(placeholders.value(v) for v in value) + ")")
        else:
            parts.append(placeholders.value(value))
    compiled: str = expression["format"].format(*parts, operator=operator)
    return compiled


def compile_key_condition(
    condition: object, placeholders: Placeholders, protected: frozenset[str]
) -> str:
    """A sort-key condition: one comparison, between or begins_with on a non-partition key."""
    if isinstance(condition, str):
        raise InvalidExpressionError(
            "raw expression strings are refused for sort; use boto3.dynamodb.conditions.Key"
        )
    conditions = _conditions()
    if not isinstance(condition, conditions.ConditionBase):
        raise InvalidExpressionError("sort must be a condition such as Key('sk').begins_with('x')")
    expression = condition.get_expression()
    values = expression["values"]
    nested = (conditions.AttributeBase, conditions.ConditionBase)
    if (
        expression["operator"] not in _KEY_OPERATORS
        or not values
        or type(values[0]) not in (conditions.Key, conditions.Attr)
        or any(isinstance(v, nested) for v in values[1:])
    ):
        raise InvalidExpressionError(
            "sort must be one of Key(name).eq/lt/lte/gt/gte/between/begins_with(value)"
        )
    return compile_condition(condition, placeholders, protected, what="sort")


def compile_update(
    placeholders: Placeholders,
    *,
    set_values: Mapping[str, object] | None,
    remove: Iterable[str] | None,
    add: Mapping[str, object] | None,
) -> str:
    """An UpdateExpression of ``SET``/``REMOVE``/``ADD`` clauses on top-level attributes."""
    clauses: list[str] = []
    if set_values:
        clauses.append(
            "SET "
            + ", ".join(
                f"{placeholders.name(_top(n))} = {placeholders.value(v)}"
                for n, v in set_values.items()
            )
        )
    removed = [remove] if isinstance(remove, str) else list(remove or ())
    if removed:
        clauses.append("REMOVE " + ", ".join(placeholders.name(_top(n)) for n in removed))
    if add:
        clauses.append(
            "ADD "
            + ", ".join(
                f"{placeholders.name(_top(n))} {placeholders.value(v)}" for n, v in add.items()
            )
        )
    if not clauses:
        raise InvalidExpressionError("update needs at least one of set, remove or add")
    return " ".join(clauses)


def _top(name: object) -> str:
    if not isinstance(name, str) or not name:
        raise InvalidExpressionError("update attribute names must be non-empty strings")
    return name
