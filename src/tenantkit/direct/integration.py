"""What a route renders to before it becomes OpenAPI: templates, statuses, substitutions.

Substitutions are CloudFormation values (a table's ``Ref``, a state machine's ARN) placed
into a template by ``Fn::Sub``; the template text marks them with :func:`slot` and
:mod:`tenantkit.direct.openapi` turns the marks into ``${Name}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from tenantkit.direct import vtl

__all__ = ["Integration", "error_template", "message", "slot"]


def slot(name: str) -> str:
    """The mark of a ``Fn::Sub`` variable in template text (NUL never occurs in templates)."""
    return f"\x00{name}\x00"


def message(status: int) -> str:
    """The JSON error body for ``status``: ``{"message": "Not Found"}``, never caller input."""
    return f'{{"message": "{HTTPStatus(status).phrase}"}}'


@dataclass(frozen=True, slots=True)
class Integration:
    """An ``aws`` integration: the service action, its templates and the statuses it answers.

    ``responses`` maps a selection pattern on the backend's HTTP status (``default``,
    ``4\\d{2}``...) to ``(status, template)``; ``statuses`` lists every status a caller
    may receive (for the OpenAPI responses).
    """

    service: str
    action: str
    request: str
    responses: dict[str, tuple[int, str]]
    statuses: tuple[int, ...]
    success: int
    body_schema: dict[str, Any] | None = None
    substitutions: dict[str, Any] = field(default_factory=dict)


def error_template(errors: Sequence[tuple[Sequence[str], int]], fallback: int) -> str:
    """A 4xx response template choosing the status from the backend's ``__type``.

    A request without a valid tenant named no table (``vtl.unless_known``): 403.
    ``errors`` pairs type-name fragments with a status; anything else is ``fallback``. The
    body is a fixed message: the backend's own message may quote the request.
    """
    lines = [*vtl.known_tenant(), "#set($type = \"$!input.path('$.__type')\")"]
    lines += ["#if(!$known)", "#set($context.responseOverride.status = 403)", message(403)]
    keyword = "#elseif"
    for fragments, status in errors:
        test = " || ".join(f'$type.contains("{f}")' for f in fragments)
        lines.append(f"{keyword}({test})")
        lines.append(f"#set($context.responseOverride.status = {status})")
        lines.append(message(status))
        keyword = "#elseif"
    lines.append("#else")
    lines.append(f"#set($context.responseOverride.status = {fallback})")
    lines.append(message(fallback))
    lines.append("#end")
    return "\n".join(lines)
