"""Compile ``boto3.dynamodb.conditions`` objects into expression strings, and police them.

Callers never write expression strings or placeholder maps: a raw string could compare
a partition key against another tenant's value, or smuggle expression syntax into a
name. Conditions are compiled here with generated ``#nN``/``:vN`` placeholders, and a
partition-key attribute (of the table or of any index) may only appear inside
``attribute_exists``/``attribute_not_exists``.

Updates are compiled the same way, from ``set``/``remove``/``add``/``delete`` arguments.
This is tenant-agnostic: ``TenantTable`` passes its prefixed attributes as ``protected``,
the control-plane store its partition key.

Why not boto3's ``ConditionExpressionBuilder``: it would render the same strings from the
same ``get_expression()`` forms, but it neither polices protected attributes nor refuses
malformed paths (``a..b`` would reach DynamoDB as a ``ValidationException``), and it has
no update expressions. This walk is the few lines that do all three.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tenantkit._shared.dynamodb.marshal import check_text, serialize
from tenantkit.errors import InvalidExpressionError

__all__ = [
    "IfNotExists",
    "Placeholders",
    "UpdatePath",
    "Updates",
    "compile_condition",
    "compile_key_condition",
    "compile_update",
    "conditional",
    "top_name",
]

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


@dataclass(frozen=True, slots=True)
class IfNotExists:
    """An update value that is written only where the attribute has none yet:
    ``set={"createdAt": IfNotExists(now)}`` compiles to ``if_not_exists(createdAt, :v)``."""

    value: object


# Its public home (set after the dataclass is made: the decorator reads its module).
IfNotExists.__module__ = "tenantkit.dynamo"


UpdatePath = str | tuple[str, ...]
"""An attribute to update: a name (taken whole, dots and brackets included), or a tuple of
map keys for a nested path, such as ``("memberships", tenant_id)``."""

# The keys are UpdatePaths, checked when compiled (``top_name``). They are typed Any
# because Mapping is invariant in its key type: neither a dict[str, int] nor a literal
# mixing names and ("a", "b") paths would be a Mapping[UpdatePath, object].
Updates = Mapping[Any, object]
"""Attributes (or paths) to values, for ``set``, ``add`` and ``delete``."""


def top_name(path: object) -> str:
    """The top-level attribute an update path changes; ``InvalidExpressionError`` if malformed."""
    names = path if isinstance(path, tuple) else (path,)
    if not names or not all(isinstance(name, str) and name for name in names):
        raise InvalidExpressionError(
            "update attribute names must be non-empty strings, or tuples of them for a nested path"
        )
    top: str = names[0]
    return top


def _update_path(placeholders: Placeholders, path: object) -> str:
    top_name(path)
    names = path if isinstance(path, tuple) else (path,)
    return ".".join(placeholders.name(name) for name in names)


def _set_value(placeholders: Placeholders, path: str, value: object) -> str:
    if isinstance(value, IfNotExists):
        return f"if_not_exists({path}, {placeholders.value(value.value)})"
    return placeholders.value(value)


def compile_update(
    placeholders: Placeholders,
    *,
    set_values: Updates | None = None,
    remove: str | Iterable[UpdatePath] | None = None,
    add: Updates | None = None,
    delete: Updates | None = None,
) -> str:
    """An UpdateExpression of ``SET``, ``REMOVE``, ``ADD`` and ``DELETE`` clauses.

    ``add`` adds to a number or a set; ``delete`` takes elements out of a set, so its
    values must be non-empty sets.
    """
    clauses: list[str] = []
    if set_values:
        assignments = []
        for path, value in set_values.items():
            name = _update_path(placeholders, path)
            assignments.append(f"{name} = {_set_value(placeholders, name, value)}")
        clauses.append("SET " + ", ".join(assignments))
    removed = [remove] if isinstance(remove, str) else list(remove or ())
    if removed:
        clauses.append("REMOVE " + ", ".join(_update_path(placeholders, p) for p in removed))
    if add:
        clauses.append(
            "ADD "
            + ", ".join(
                f"{_update_path(placeholders, p)} {placeholders.value(v)}" for p, v in add.items()
            )
        )
    if delete:
        if not all(isinstance(v, set | frozenset) for v in delete.values()):
            raise InvalidExpressionError(
                "delete takes sets of elements to remove from set attributes"
            )
        clauses.append(
            "DELETE "
            + ", ".join(
                f"{_update_path(placeholders, p)} {placeholders.value(v)}"
                for p, v in delete.items()
            )
        )
    if not clauses:
        raise InvalidExpressionError("update needs at least one of set, remove, add or delete")
    return " ".join(clauses)


def conditional(
    request: dict[str, Any],
    placeholders: Placeholders,
    condition: object,
    protected: frozenset[str],
    *,
    absent: str | None = None,
) -> dict[str, Any]:
    """Add ``condition`` (and ``attribute_not_exists(absent)``) and the placeholder maps.

    A failed condition never carries the stored item back
    (``ReturnValuesOnConditionCheckFailure`` is ``NONE``).
    """
    parts = []
    if absent is not None:
        parts.append(f"attribute_not_exists({placeholders.name(absent)})")
    if condition is not None:
        parts.append(compile_condition(condition, placeholders, protected))
    if parts:
        request["ConditionExpression"] = (
            parts[0] if len(parts) == 1 else " AND ".join(f"({p})" for p in parts)
        )
        request["ReturnValuesOnConditionCheckFailure"] = "NONE"
    return placeholders.apply(request)
