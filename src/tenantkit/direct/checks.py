"""The checks a spec's shape cannot express: names, tables, keys and their byte budgets.

Each failure is a ``ConfigurationError`` naming its place in the spec. A value that becomes
part of a key (table or index, partition or sort) must be a string with an anchored
``pattern`` and a ``max_length`` that fits DynamoDB's key size with the tenant prefix at
its longest, counted at 4 UTF-8 bytes a character.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from tenantkit.direct.spec import (
    DeleteItem,
    FieldSpec,
    GetItem,
    PutItem,
    Query,
    Route,
    Spec,
    Table,
    UpdateItem,
)
from tenantkit.direct.values import (
    LITERAL,
    Placeholder,
    Source,
    max_length_of,
    parse_value,
    route_sources,
)
from tenantkit.dynamo.keys import MAX_PARTITION_KEY_BYTES, MAX_SORT_KEY_BYTES, SEPARATOR
from tenantkit.errors import ConfigurationError

__all__ = ["MAX_TENANT_LENGTH", "check_spec", "partition_attributes"]

#: ``validate_tenant_id``'s longest tenant id (ASCII), which every partition key carries.
MAX_TENANT_LENGTH = 64
#: Names the execution input and query routes reserve for themselves.
RESERVED = frozenset({"tenantId", "userId"})
QUERY_PARAMETERS = frozenset({"limit", "cursor"})
_PATH_PARAMETER = re.compile(r"\{([^{}]+)\}")


def _fail(where: str, message: str) -> ConfigurationError:
    return ConfigurationError(f"invalid route spec: {where}: {message}")


def partition_attributes(table: Table) -> frozenset[str]:
    """Every attribute stored tenant-prefixed: the table's and each index's partition key."""
    names = {table.partition_key, *(index.partition_key for index in table.indexes.values())}
    if table.enumeration is not None:
        names.add(table.enumeration.attribute)
    return frozenset(names)


def check_spec(spec: Spec) -> None:
    """Raise ``ConfigurationError`` for the first problem found, with its location."""
    seen_operations: set[str] = set()
    seen_routes: set[tuple[str, str]] = set()
    for i, route in enumerate(spec.routes):
        where = f"routes[{i}]"
        kinds = [k for k in ("dynamodb", "stepfunctions", "lambda_") if getattr(route, k)]
        if len(kinds) != 1:
            raise _fail(where, "declare exactly one of dynamodb, stepfunctions or lambda")
        if route.operation in seen_operations:
            raise _fail(f"{where}.operation", f"{route.operation!r} is used twice")
        if (route.method, route.path) in seen_routes:
            raise _fail(f"{where}.path", f"{route.method} {route.path} is declared twice")
        seen_operations.add(route.operation)
        seen_routes.add((route.method, route.path))
        _check_names(route, where)
        for name, field in route.body.items():
            _check_default(f"{where}.body.{name}.default", field)
        if route.dynamodb is not None:
            _check_dynamodb(spec, route, f"{where}.dynamodb")
        elif route.stepfunctions is not None:
            sources = route_sources(route)
            for j, name in enumerate(route.stepfunctions.input or ()):
                if name not in sources or sources[name].kind == "context":
                    raise _fail(f"{where}.stepfunctions.input[{j}]", f"{name!r} is not a field")
            if route.stepfunctions.returns and route.stepfunctions.action != "StartSyncExecution":
                raise _fail(f"{where}.stepfunctions.returns", "only StartSyncExecution returns")


def _check_names(route: Route, where: str) -> None:
    declared = set(_PATH_PARAMETER.findall(route.path))
    if declared != set(route.path_parameters):
        raise _fail(
            f"{where}.path_parameters",
            f"declare exactly the path's parameters {sorted(declared)}",
        )
    groups: dict[str, list[str]] = {
        "path_parameters": list(route.path_parameters),
        "query_parameters": list(route.query_parameters),
        "body": list(route.body),
    }
    reserved = RESERVED | (QUERY_PARAMETERS if isinstance(route.dynamodb, Query) else set())
    seen: set[str] = set()
    for group, names in groups.items():
        for name in names:
            if name in reserved or name in seen:
                raise _fail(f"{where}.{group}.{name}", "is reserved or declared twice")
            seen.add(name)
    if route.body and route.method in {"GET", "DELETE"}:
        raise _fail(f"{where}.body", f"a {route.method} request has no body")


def _check_default(where: str, field: FieldSpec) -> None:
    """A default is a value the field's own model accepts; a string one is literal text."""
    value = field.default
    if value is None:
        return
    kinds: dict[str, tuple[type, ...]] = {
        "string": (str,),
        "integer": (int,),
        "number": (int, float),
        "boolean": (bool,),
    }
    if isinstance(value, bool) != (field.type == "boolean") or not isinstance(
        value, kinds[field.type]
    ):
        raise _fail(where, f"{value!r} is not of type {field.type}")
    if isinstance(value, float) and not math.isfinite(value):
        raise _fail(where, "a number default must be finite")
    if field.enum is not None and not any(
        isinstance(e, bool) == isinstance(value, bool) and e == value for e in field.enum
    ):
        raise _fail(where, f"{value!r} is not one of the field's enum")
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        if (field.minimum is not None and value < field.minimum) or (
            field.maximum is not None and value > field.maximum
        ):
            raise _fail(where, f"{value!r} is outside the field's minimum and maximum")
        return
    if not LITERAL.fullmatch(value):
        raise _fail(
            where, "a default may contain only letters, digits, spaces and _ . : # / @ + = , -"
        )
    longest = max_length_of(field)
    if len(value) < (field.min_length or 0) or (longest is not None and len(value) > longest):
        raise _fail(where, f"{value!r} is shorter or longer than the field allows")
    if field.pattern is not None:
        try:
            matched = re.search(field.pattern, value) is not None
        except re.error:
            raise _fail(where, "the field's pattern cannot be checked here") from None
        if not matched:
            raise _fail(where, f"{value!r} does not match the field's pattern")


def _check_dynamodb(spec: Spec, route: Route, where: str) -> None:
    action = route.dynamodb
    assert action is not None
    table = spec.tables.get(action.table)
    if table is None:
        raise _fail(f"{where}.table", f"no table {action.table!r} in tables")
    sources = route_sources(route)
    keys = {table.partition_key: MAX_PARTITION_KEY_BYTES}
    if table.sort_key is not None:
        keys[table.sort_key] = MAX_SORT_KEY_BYTES
    for index in table.indexes.values():
        keys[index.partition_key] = MAX_PARTITION_KEY_BYTES
        if index.sort_key is not None:
            keys.setdefault(index.sort_key, MAX_SORT_KEY_BYTES)
    prefixed = partition_attributes(table)
    if isinstance(action, GetItem | PutItem | UpdateItem | DeleteItem):
        if set(action.key) != {table.partition_key, table.sort_key} - {None}:
            raise _fail(f"{where}.key", f"give exactly the table's key attributes {_names(table)}")
        for attribute, text in action.key.items():
            _check_value(
                f"{where}.key.{attribute}", text, sources, keys[attribute], attribute in prefixed
            )
    if isinstance(action, PutItem | UpdateItem):
        field = "attributes" if isinstance(action, PutItem) else "set"
        values: Mapping[str, str] = action.attributes if isinstance(action, PutItem) else action.set
        if isinstance(action, UpdateItem) and not values:
            raise _fail(f"{where}.set", "set at least one attribute")
        optional = [_optional(text, sources) for text in values.values()]
        if values and all(optional) and table.enumeration is None:
            raise _fail(f"{where}.{field}", "at least one value must be always present")
        for attribute, text in values.items():
            here = f"{where}.{field}.{attribute}"
            if attribute in table.key_attributes or attribute == _enumeration(table):
                raise _fail(
                    here, "the table's key and the enumeration attribute are not writable here"
                )
            _check_value(here, text, sources, keys.get(attribute), attribute in prefixed)
    if isinstance(action, Query):
        _check_query(table, action, sources, keys, where)
    returns = getattr(action, "returns", {})
    for name, returned in returns.items():
        if (returned.attribute or name) == _enumeration(table):
            raise _fail(f"{where}.returns.{name}", "the enumeration attribute is never returned")


def _check_query(
    table: Table, query: Query, sources: Mapping[str, Source], keys: Mapping[str, int], where: str
) -> None:
    if query.index is None:
        partition, sort = table.partition_key, table.sort_key
    elif query.index in table.indexes:
        partition, sort = (
            table.indexes[query.index].partition_key,
            table.indexes[query.index].sort_key,
        )
    else:
        raise _fail(f"{where}.index", f"table {query.table!r} has no index {query.index!r}")
    _check_value(f"{where}.partition", query.partition, sources, keys[partition], True)
    if query.begins_with is not None:
        if sort is None:
            raise _fail(f"{where}.begins_with", "the table or index has no sort key")
        _check_value(f"{where}.begins_with", query.begins_with, sources, keys[sort], False)
    if query.limit.default > query.limit.maximum:
        raise _fail(f"{where}.limit", "default is over maximum")


def _check_value(
    where: str, text: str, sources: Mapping[str, Source], key_bytes: int | None, prefixed: bool
) -> None:
    """A value template: its placeholders exist, and a key's are pattern-checked and fit."""
    try:
        parts = parse_value(text)
    except ValueError as error:
        raise _fail(where, str(error)) from None
    budget = sum(len(part.encode()) for part in parts if isinstance(part, str))
    if prefixed:
        budget += MAX_TENANT_LENGTH + len(SEPARATOR)
    for part in parts:
        if not isinstance(part, Placeholder):
            continue
        source = sources.get(part.name)
        if source is None:
            raise _fail(where, f"{{{part.name}}} names no parameter, body field or context value")
        if source.type != "string" and len(parts) != 1:
            raise _fail(where, f"{{{part.name}}} is a {source.type}: it must be the whole value")
        if key_bytes is None:
            continue
        if source.kind == "context" or source.type != "string":
            raise _fail(where, f"{{{part.name}}} cannot be part of a key: use a string field")
        pattern = source.pattern
        if pattern is None or not (pattern.startswith("^") and pattern.endswith("$")):
            raise _fail(
                where, f"{{{part.name}}} is part of a key: give it an anchored ^...$ pattern"
            )
        if source.max_length is None:
            raise _fail(where, f"{{{part.name}}} is part of a key: give it a max_length")
        budget += 4 * source.max_length
    if key_bytes is not None and budget > key_bytes:
        raise _fail(
            where,
            f"the key can reach {budget} UTF-8 bytes (4 per character, tenant prefix included), "
            f"over DynamoDB's {key_bytes}: lower the max_length of its values",
        )


def _optional(text: str, sources: Mapping[str, Source]) -> bool:
    """Whether a value template names an optional value (checked by ``_check_value``)."""
    try:
        parts = parse_value(text)
    except ValueError:
        return False
    return any(
        isinstance(p, Placeholder) and p.name in sources and not sources[p.name].required
        for p in parts
    )


def _enumeration(table: Table) -> str | None:
    return None if table.enumeration is None else table.enumeration.attribute


def _names(table: Table) -> list[str]:
    return [table.partition_key] + ([table.sort_key] if table.sort_key else [])
