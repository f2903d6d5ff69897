"""DynamoDB integrations: request and response templates for the five actions.

``PutItem`` is rendered as DynamoDB ``UpdateItem`` with ``attribute_not_exists`` on the
partition key and ``ReturnValues: ALL_NEW``: on an absent item the two write the same item,
and only ``UpdateItem`` can return it (a response template cannot read the request body).
The integration's role therefore needs ``dynamodb:UpdateItem`` for create routes.

Query cursors (decision 10) are unsigned: the sort-key values of ``LastEvaluatedKey``
(and, on an index, the table's key), tenant prefix stripped, ``~`` written ``~t``, joined
by ``~s``. The request template splits a cursor back, re-prefixes each partition-key value
with the caller's tenant and rebuilds the index's partition key from the query itself, so a
cursor can only point into the caller's own partition. A malformed cursor or ``limit``
sets ``"Select": "INVALID_LIMIT_OR_CURSOR"``, which DynamoDB refuses with a 400.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tenantkit.direct import vtl
from tenantkit.direct.checks import partition_attributes
from tenantkit.direct.integration import Integration, error_template, message, slot
from tenantkit.direct.limits import range_pattern
from tenantkit.direct.spec import (
    DeleteItem,
    GetItem,
    PutItem,
    Query,
    Returned,
    Route,
    Spec,
    Table,
    UpdateItem,
)
from tenantkit.direct.values import Source, parse_value, route_sources

__all__ = ["dynamodb_integration", "returns_schema"]

_THROTTLED = ("ProvisionedThroughputExceeded", "ThrottlingException", "RequestLimitExceeded")
_SCHEMA_TYPES = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean"}


def dynamodb_integration(spec: Spec, route: Route) -> Integration:
    """The integration of a route with a ``dynamodb`` action (``parse_spec`` checked it)."""
    action = route.dynamodb
    assert action is not None
    table = spec.tables[action.table]
    render = _Renderer(table, route_sources(route))
    if isinstance(action, GetItem):
        return render.get_item(action, route.status or 200)
    if isinstance(action, Query):
        return render.query(action, route.status or 200)
    if isinstance(action, DeleteItem):
        return render.delete_item(action, route.status or 204)
    return render.write(action, route.status or (201 if isinstance(action, PutItem) else 200))


def returns_schema(returns: Mapping[str, Returned]) -> dict[str, Any]:
    """The JSON schema of a returned item: the declared fields, each nullable."""
    properties = {
        name: {"type": _SCHEMA_TYPES[r.type], "nullable": True} for name, r in returns.items()
    }
    return {"type": "object", "properties": properties, "additionalProperties": False}


class _Renderer:
    def __init__(self, table: Table, sources: dict[str, Source]) -> None:
        self.table = table
        self.sources = sources
        self.prefixed = partition_attributes(table)
        self.bound: list[Source] = []
        self.substitutions: dict[str, Any] = {}

    # -- pieces ---------------------------------------------------------------------------

    def value(self, template: str, attribute: str) -> str:
        parts = parse_value(template)
        self.bound.extend(vtl.used(parts, self.sources))
        return vtl.attribute_value(parts, self.sources, prefixed=attribute in self.prefixed)

    def presence(self, template: str) -> str | None:
        return vtl.presence(parse_value(template), self.sources)

    def table_name(self) -> str:
        name = self.table.name
        if isinstance(name, str):
            return vtl.unless_known(name)
        if name == {"authorizer": "table"}:
            return vtl.unless_known("$!{table}")
        self.substitutions["TableName"] = name
        return vtl.unless_known(slot("TableName"))

    def key(self, key: Mapping[str, str]) -> str:
        return ", ".join(f'"{a}": {self.value(t, a)}' for a, t in key.items())

    def request(self, body: Sequence[str], head: Sequence[str] = ()) -> str:
        lines = vtl.prelude() + vtl.bindings(self.bound) + list(head)
        if self.table.name == {"authorizer": "table"}:
            lines.append(f"#set($table = {vtl.escaped('$context.authorizer.table')})")
        return "\n".join([*lines, "{", *body, "}"])

    def fields(self, returns: Mapping[str, Returned], item: str) -> str:
        values = [
            f'"{name}": '
            + vtl.returned_value(
                item, r.attribute or name, r.type, prefixed=(r.attribute or name) in self.prefixed
            )
            for name, r in returns.items()
        ]
        return "{" + ", ".join(values) + "}"

    def owned(self, item: str) -> list[str]:
        others = sorted(self.prefixed - {self.table.partition_key})
        return vtl.ownership(item, [self.table.partition_key, *others])

    def integration(
        self,
        action: str,
        request: str,
        success: tuple[int, str],
        *,
        conflict: int = 409,
        extra: tuple[int, ...] = (),
        body_schema: dict[str, Any] | None = None,
    ) -> Integration:
        """``conflict`` answers a failed condition; ``extra`` lists statuses it may answer."""
        errors = [
            (("ConditionalCheckFailed",), conflict),
            (_THROTTLED, 429),
            # A value the service cannot encode (a lone surrogate) is the caller's, not ours.
            (("ValidationException", "SerializationException"), 400),
        ]
        statuses = sorted({success[0], 400, 403, 429, 500, *extra})
        return Integration(
            service="dynamodb",
            action=action,
            request=request,
            responses={
                "default": success,
                "4\\d{2}": (400, error_template(errors, 500)),
                "5\\d{2}": (500, message(500)),
            },
            statuses=tuple(statuses),
            success=success[0],
            body_schema=body_schema,
            substitutions=self.substitutions,
        )

    # -- actions --------------------------------------------------------------------------

    def get_item(self, action: GetItem, status: int) -> Integration:
        body = [f'"TableName": "{self.table_name()}",', f'"Key": {{{self.key(action.key)}}}']
        response = "\n".join(
            [
                *vtl.prelude(),
                "#set($item = $input.path('$.Item'))",
                *self.owned("item"),
                "#if(!$mine)",
                "#set($context.responseOverride.status = 404)",
                '{"message": "Not Found"}',
                "#else",
                self.fields(action.returns, "item"),
                "#end",
            ]
        )
        return self.integration(
            "GetItem",
            self.request(body),
            (status, response),
            extra=(404,),
            body_schema=returns_schema(action.returns),
        )

    def write(self, action: PutItem | UpdateItem, status: int) -> Integration:
        create = isinstance(action, PutItem)
        values = action.attributes if isinstance(action, PutItem) else action.set
        names: list[tuple[str, str, str | None]] = []  # (placeholder, attribute, condition)
        exprs: list[tuple[str, str, str | None]] = []  # (placeholder, value json, condition)
        sets: list[tuple[str, str | None]] = []
        head: list[str] = []
        if self.table.enumeration is not None:
            head = vtl.shard_binding(self.table.enumeration.shards)
            names.append(("${h}tk", self.table.enumeration.attribute, None))
            exprs.append((":tk", vtl.shard_value(), None))
            sets.append(("${h}tk = :tk" if create else "${h}tk = if_not_exists(${h}tk, :tk)", None))
        ordered = sorted(values.items(), key=lambda kv: self.presence(kv[1]) is not None)
        for n, (attribute, template) in enumerate(ordered):
            condition = self.presence(template)
            names.append((f"${{h}}a{n}", attribute, condition))
            exprs.append((f":a{n}", self.value(template, attribute), condition))
            sets.append((f"${{h}}a{n} = :a{n}", condition))
        body = [f'"TableName": "{self.table_name()}",', f'"Key": {{{self.key(action.key)}}},']
        if isinstance(action, PutItem) or action.must_exist:
            names.insert(0, ("${h}k", self.table.partition_key, None))
            test = "attribute_not_exists" if create else "attribute_exists"
            body.append(f'"ConditionExpression": "{test}(${{h}}k)",')
        if sets:
            body.append(f'"UpdateExpression": "SET {_joined(sets, ", ")}",')
        if names:
            body.append(f'"ExpressionAttributeNames": {{{_joined(_pairs(names, True), ", ")}}},')
        if exprs:
            body.append(f'"ExpressionAttributeValues": {{{_joined(_pairs(exprs, False), ", ")}}},')
        body.append('"ReturnValues": "ALL_NEW"')
        response = "\n".join(
            [
                *vtl.prelude(),
                "#set($item = $input.path('$.Attributes'))",
                self.fields(action.returns, "item"),
            ]
        )
        return self.integration(
            "UpdateItem",
            self.request(body, head),
            (status, response),
            conflict=409 if create else 404,
            extra=(409 if create else 404,),
            body_schema=returns_schema(action.returns),
        )

    def delete_item(self, action: DeleteItem, status: int) -> Integration:
        body = [f'"TableName": "{self.table_name()}",', f'"Key": {{{self.key(action.key)}}}']
        if action.must_exist:
            body[-1] += ","
            body.append('"ConditionExpression": "attribute_exists(${h}k)",')
            body.append(f'"ExpressionAttributeNames": {{"${{h}}k": "{self.table.partition_key}"}}')
        extra = (404,) if action.must_exist else ()
        return self.integration(
            "DeleteItem", self.request(body), (status, ""), conflict=404, extra=extra
        )

    def query(self, action: Query, status: int) -> Integration:
        table = self.table
        index = table.indexes[action.index] if action.index else None
        pk = index.partition_key if index else table.partition_key
        sk = index.sort_key if index else table.sort_key
        partition = self.value(action.partition, pk)
        cursor_attributes = [
            a for a in dict.fromkeys([sk, table.partition_key, table.sort_key]) if a and a != pk
        ]
        limit = range_pattern(action.limit.maximum)
        head = [
            "#set($bad = false)",
            "#set($limit = \"$!input.params().querystring.get('limit')\")",
            f'#if($limit == "")#set($limit = "{action.limit.default}")'
            f"#elseif(!$limit.matches('{limit}'))#set($bad = true)#set($limit = \"1\")#end",
            "#set($cursor = \"$!input.params().querystring.get('cursor')\")",
            '#if($cursor != "")',
            "#set($parts = $cursor.split('~s'))",
            f"#if($parts.size() != {len(cursor_attributes)})#set($bad = true)#else",
            '#foreach($part in $parts)#if($part == "")#set($bad = true)#end#end',
            "#end",
            "#end",
        ]
        condition = "${h}p = :p"
        names = f'"${{h}}p": "{pk}"'
        values = f'":p": {partition}'
        if action.begins_with is not None:
            clause = (
                " AND begins_with(${h}s, :s)",
                f', "${{h}}s": "{sk}"',
                f', ":s": {self.value(action.begins_with, str(sk))}',
            )
            present = self.presence(action.begins_with)
            wrap = (lambda s: f"#if({present}){s}#end") if present else (lambda s: s)
            condition, names, values = (
                condition + wrap(clause[0]),
                names + wrap(clause[1]),
                values + wrap(clause[2]),
            )
        start = [f'"{pk}": {partition}'] + [
            f'"{a}": {{"S": "{"$!{prefix}" if a in self.prefixed else ""}'
            + vtl.quiet(vtl.escaped(f"$parts.get({n}).replaceAll('~t', '~')"))
            + '"}'
            for n, a in enumerate(cursor_attributes)
        ]
        body = [
            f'"TableName": "{self.table_name()}",',
            *([f'"IndexName": "{action.index}",'] if action.index else []),
            f'"KeyConditionExpression": "{condition}",',
            f'"ExpressionAttributeNames": {{{names}}},',
            f'"ExpressionAttributeValues": {{{values}}},',
            '"Limit": $limit,',
            '#if($bad)"Select": "INVALID_LIMIT_OR_CURSOR",#end',
            '#if($cursor != "" && !$bad)"ExclusiveStartKey": {' + ", ".join(start) + "},#end",
            f'"ScanIndexForward": {"true" if action.forward else "false"}',
        ]
        encoded = "~s".join(
            vtl.quiet(
                vtl.escaped(
                    f"$lek.get('{a}').S"
                    + (".replaceAll($strip, '')" if a in self.prefixed else "")
                    + ".replaceAll('~', '~t')"
                )
            )
            for a in cursor_attributes
        )
        response = "\n".join(
            [
                *vtl.prelude(),
                '#set($sep = "")',
                '{"items": [',
                "#foreach($item in $input.path('$.Items'))",
                *self.owned("item"),
                f'#if($mine)$sep{self.fields(action.returns, "item")}#set($sep = ",")#end',
                "#end",
                '], "cursor":',
                "#set($lek = $input.path('$.LastEvaluatedKey'))",
                f'#if($lek)"{encoded}"#{{else}}null#end' if cursor_attributes else "null",
                "}",
            ]
        )
        schema = {
            "type": "object",
            "required": ["items", "cursor"],
            "properties": {
                "items": {"type": "array", "items": returns_schema(action.returns)},
                "cursor": {"type": "string", "nullable": True},
            },
        }
        return self.integration(
            "Query", self.request(body, head), (status, response), body_schema=schema
        )


def _pairs(entries: list[tuple[str, str, str | None]], quote: bool) -> list[tuple[str, str | None]]:
    return [(f'"{k}": ' + (f'"{v}"' if quote else v), c) for k, v, c in entries]


def _joined(items: Sequence[tuple[str, str | None]], separator: str) -> str:
    """Join, wrapping conditional items in ``#if``; unconditional items come first."""
    out = ""
    for n, (item, condition) in enumerate(items):
        piece = (separator if n else "") + item
        out += f"#if({condition}){piece}#end" if condition else piece
    return out
