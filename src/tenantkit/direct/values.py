"""Value templates: ``"park#{parkId}"``, literal text with placeholders naming request values.

A placeholder names a path parameter, a query-string parameter, a body field of the route,
or one of the request's context values (:data:`CONTEXT_VALUES`). Literal text is limited to
:data:`LITERAL`, characters that need no escaping in JSON, in a Velocity template (``#``
aside, which the templates write as ``${h}``) or in a ``States.Format`` string.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from tenantkit.direct.spec import FieldSpec, Route

__all__ = [
    "CONTEXT_VALUES",
    "DEFAULT_MAX_LENGTH",
    "LITERAL",
    "Placeholder",
    "Source",
    "max_length_of",
    "parse_value",
    "route_sources",
]

LITERAL = re.compile(r"[A-Za-z0-9 _.:#/@+=,-]*")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
#: Context values a template may place (as text); never the tenant, which keys add.
CONTEXT_VALUES = {
    "context.requestId": "$context.requestId",
    "context.requestTime": "$context.requestTime",
    "context.userId": "$context.authorizer.userId",
}


@dataclass(frozen=True, slots=True)
class Placeholder:
    name: str


Part = str | Placeholder


@dataclass(frozen=True, slots=True)
class Source:
    """Where a placeholder's value comes from, and what the spec says it may be.

    ``required``: the templates always have a value, sent or the body field's ``default``.
    """

    name: str
    kind: Literal["path", "query", "body", "context"]
    type: Literal["string", "integer", "number", "boolean"] = "string"
    required: bool = True
    pattern: str | None = None
    max_length: int | None = None
    default: str | int | float | bool | None = None


def parse_value(text: str) -> tuple[Part, ...]:
    """Split a value template into literal text and placeholders; ``ValueError`` if malformed."""
    parts: list[Part] = []
    end = 0
    for match in _PLACEHOLDER.finditer(text):
        parts.append(text[end : match.start()])
        parts.append(Placeholder(match.group(1)))
        end = match.end()
    parts.append(text[end:])
    out = tuple(p for p in parts if p != "")
    for part in out:
        if isinstance(part, str) and not LITERAL.fullmatch(part):
            raise ValueError(
                f"literal text {part!r} may contain only letters, digits, spaces and "
                "_ . : # / @ + = , - (put other text in a request value)"
            )
    if not out:
        raise ValueError("a value template must not be empty")
    return out


def route_sources(route: Route) -> dict[str, Source]:
    """Every value a route's templates may name: its parameters, body fields and context."""
    sources = {name: Source(name, "context") for name in CONTEXT_VALUES}
    for name, parameter in route.path_parameters.items():
        sources[name] = Source(
            name, "path", pattern=parameter.pattern, max_length=parameter.max_length
        )
    for name, parameter in route.query_parameters.items():
        sources[name] = Source(
            name,
            "query",
            required=False,
            pattern=parameter.pattern,
            max_length=parameter.max_length,
        )
    for name, field in route.body.items():
        sources[name] = _body_source(name, field)
    return sources


def _body_source(name: str, field: FieldSpec) -> Source:
    return Source(
        name,
        "body",
        field.type,
        field.required or field.default is not None,
        field.pattern,
        max_length_of(field),
        field.default,
    )


def max_length_of(field: FieldSpec) -> int | None:
    """A body string's longest value: its ``max_length``, else :data:`DEFAULT_MAX_LENGTH`."""
    if field.type != "string":
        return None
    return field.max_length if field.max_length is not None else DEFAULT_MAX_LENGTH


#: The ``maxLength`` of a body string that declares none (the model always has one).
DEFAULT_MAX_LENGTH = 1024
