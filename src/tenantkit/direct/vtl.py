"""Velocity building blocks shared by the generated request and response templates.

Rules every generated template keeps (tests check each):

- The tenant is ``$context.authorizer.tenantId`` and nothing else; keys are
  ``<tenant><SEPARATOR><value>``, ``dynamo.keys``' format.
- Every caller value passes through :func:`escaped`: ``$util.escapeJavaScript`` and then
  ``.replaceAll("\\\\'","'")``, because escapeJavaScript writes ``\\'``, which JSON refuses.
- Template text never holds ``#`` outside a directive: literal ``#`` is written ``${h}``
  (``#set($h = "#")``), so no ``#$`` quirk, no directive by accident (``#end`` in a key).
- Values that may be null are printed quietly (``$!``), since Velocity prints a null
  reference's own source text, quotes included.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from tenantkit.context import TENANT_ID_PATTERN
from tenantkit.direct.values import CONTEXT_VALUES, Part, Placeholder, Source
from tenantkit.dynamo.keys import SEPARATOR

__all__ = [
    "attribute_value",
    "bindings",
    "escaped",
    "known_tenant",
    "ownership",
    "prelude",
    "presence",
    "quiet",
    "returned_value",
    "shard_binding",
    "shard_value",
    "string_value",
    "text",
    "unless_known",
    "used",
    "variable",
]


def text(literal: str) -> str:
    """Literal text (already limited to ``values.LITERAL``) as template text."""
    return literal.replace("#", "${h}")


def escaped(expression: str) -> str:
    """A VTL expression whose value is ``expression`` escaped for a JSON string."""
    return f'$util.escapeJavaScript({expression}).replaceAll("\\\\\'","\'")'


def known_tenant() -> list[str]:
    """``$tenant`` (never null) and ``$known``: whether it is a valid tenant id.

    A route the authorizer lets through without an active tenant must not read or write the
    keys of an empty tenant: requests name no table then, and errors answer 403.
    """
    return [
        '#set($tenant = "$!context.authorizer.tenantId")',
        f"#set($known = $tenant.matches('{TENANT_ID_PATTERN}'))",
    ]


def prelude() -> list[str]:
    """``$h``, ``$known``, the escaped ``$tenant``, ``$prefix`` (``<tenant>#``), ``$strip``."""
    return [
        '#set($h = "#")',
        *known_tenant(),
        f"#set($tenant = {escaped('$tenant')})",
        f'#set($prefix = "$!{{tenant}}{text(SEPARATOR)}")',
        f'#set($strip = "^$!{{tenant}}{text(SEPARATOR)}")',
    ]


def unless_known(value: str) -> str:
    """``value`` when the tenant is known, else ``-``: a name no table or ARN can have."""
    return f"#if($known){value}#{{else}}-#end"


def variable(source: Source) -> str:
    """The template variable holding a source's escaped value."""
    return "v_" + source.name.replace(".", "_")


def _read(source: Source) -> str:
    if source.kind == "path":
        return f"$input.params().path.get('{source.name}')"
    if source.kind == "query":
        return f"$input.params().querystring.get('{source.name}')"
    if source.kind == "context":
        return CONTEXT_VALUES[source.name]
    return f"$input.path('$.{source.name}')"  # a number prints as its digits; absent, null


def bindings(sources: Iterable[Source]) -> list[str]:
    """``#set`` lines giving each used source its variable (a boolean is kept unescaped).

    A body field's ``default`` replaces a value that prints as nothing (absent, or an
    empty string, which every template treats as absent): escaped like a sent value.
    """
    lines = []
    for source in sorted(set(sources), key=lambda s: s.name):
        value = _read(source) if source.type == "boolean" else escaped(_read(source))
        lines.append(f"#set(${variable(source)} = {value})")
        if source.default is not None:
            fallback = _default(source.default)
            lines.append(
                f'#if("$!{{{variable(source)}}}" == "")#set(${variable(source)} = {fallback})#end'
            )
    return lines


def _default(value: str | int | float | bool) -> str:
    """A spec's default as a VTL value: ``true``/``false``, else its escaped text (a string
    default is literal text, ``values.LITERAL``, so it sits in a VTL string as is)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return escaped(f'"{text(str(value))}"')


def used(parts: Sequence[Part], sources: Mapping[str, Source]) -> list[Source]:
    """The sources a value template names."""
    return [sources[p.name] for p in parts if isinstance(p, Placeholder)]


def presence(parts: Sequence[Part], sources: Mapping[str, Source]) -> str | None:
    """A VTL condition true when every optional value the template names was given."""
    optional = [s for s in used(parts, sources) if not s.required]
    if not optional:
        return None
    return " && ".join(f'"$!{{{variable(s)}}}" != ""' for s in optional)


def string_value(parts: Sequence[Part], sources: Mapping[str, Source], *, prefixed: bool) -> str:
    """The text of a JSON string holding the template's value, tenant-prefixed if asked."""
    out = "$!{prefix}" if prefixed else ""
    for part in parts:
        out += (
            f"$!{{{variable(sources[part.name])}}}" if isinstance(part, Placeholder) else text(part)
        )
    return out


def attribute_value(
    parts: Sequence[Part], sources: Mapping[str, Source], *, prefixed: bool = False
) -> str:
    """A DynamoDB ``AttributeValue`` (JSON text) of a value template."""
    if len(parts) == 1 and isinstance(parts[0], Placeholder):
        source = sources[parts[0].name]
        if source.type in {"integer", "number"}:
            return f'{{"N": "$!{{{variable(source)}}}"}}'
        if source.type == "boolean":
            return f'{{"BOOL": #if(${variable(source)})true#{{else}}false#end}}'
    return f'{{"S": "{string_value(parts, sources, prefixed=prefixed)}"}}'


def shard_binding(shards: int) -> list[str]:
    """``$shard``: ``int(d, 16) % shards`` of the last hex digit ``d`` of the request id.

    A literal map from digit to shard (decision 25): no arithmetic in VTL, and
    a request id that does not end in a hex digit falls back to shard 0.
    """
    digits = "0123456789abcdef"
    pairs = [f'"{d}": "{int(d, 16) % shards}"' for d in digits]
    pairs += [f'"{d.upper()}": "{int(d, 16) % shards}"' for d in digits if d.isalpha()]
    return [
        "#set($shards = {" + ", ".join(pairs) + "})",
        "#set($digit = $context.requestId.replaceAll('.*(.)', '$1'))",
        "#set($shard = $shards.get($digit))",
        '#if("$!shard" == "")#set($shard = "0")#end',
    ]


def shard_value() -> str:
    """The ``AttributeValue`` of the enumeration attribute: ``<tenant>#<shard>``."""
    return '{"S": "$!{prefix}$!{shard}"}'


def quiet(expression: str) -> str:
    """``$x.y`` as ``$!x.y``: printed as nothing when null."""
    return "$!" + expression.removeprefix("$")


def returned_value(item: str, attribute: str, kind: str, *, prefixed: bool) -> str:
    """JSON text of a stored attribute of ``$<item>``, typed, or ``null`` if absent."""
    value = f"${item}.get('{attribute}')"
    if kind in {"integer", "number"}:
        return f'#if("{quiet(value)}.N" != ""){value}.N#{{else}}null#end'
    if kind == "boolean":
        return f'#if("{quiet(value)}.BOOL" == "")null#elseif({value}.BOOL)true#{{else}}false#end'
    raw = f"{value}.S.replaceAll($strip, '')" if prefixed else f"{value}.S"
    return f'#if({value})"{quiet(escaped(raw))}"#{{else}}null#end'


def ownership(item: str, attributes: Sequence[str]) -> list[str]:
    """Lines setting ``$mine``: the item's first attribute (the table's partition key) is
    the tenant's, and so is every other partition key it carries (as ``TenantTable.load``)."""
    lines = ["#set($mine = true)"]
    for n, attribute in enumerate(attributes):
        lines.append(f"#set($ps = \"{quiet('$' + item)}.get('{attribute}').S\")")
        check = "!$ps.startsWith($prefix)" if n == 0 else '$ps != "" && !$ps.startsWith($prefix)'
        lines.append(f"#if({check})#set($mine = false)#end")
    return lines
