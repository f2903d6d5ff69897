"""What a parsed template is: resources by logical id, parameter values, source lines.

Kept apart from parsing so that the intrinsics, the backend and the stack share one
vocabulary without importing the YAML reader.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tenantkit.errors import ConfigurationError

__all__ = ["Attributes", "Resource", "Template", "TemplateError", "locate"]


class TemplateError(ConfigurationError):
    """The template uses something ``tenantkit local`` does not support, or is invalid."""


@dataclass
class Resource:
    logical_id: str
    type: str
    properties: dict[str, Any]
    depends_on: tuple[str, ...] = ()

    @property
    def where(self) -> str:
        return f"Resources.{self.logical_id}"


@dataclass
class Attributes:
    """What ``Ref`` and ``Fn::GetAtt`` of one resource resolve to."""

    ref: Any
    atts: dict[str, Any] = field(default_factory=dict)


@dataclass
class Template:
    """A validated template: parameter values, Globals merged, resources by logical id."""

    path: Path
    parameters: dict[str, Any]
    resources: dict[str, Resource]
    lines: dict[str, int] = field(default_factory=dict)

    def locate(self, error: Exception) -> str:
        """The error's message with the template file and line it is about."""
        message = str(error)
        if message.startswith(str(self.path)):
            return message
        return locate(message, self.path, self.lines)

    @property
    def directory(self) -> Path:
        return self.path.parent

    def of_type(self, type_name: str) -> list[Resource]:
        return [r for r in self.resources.values() if r.type == type_name]


def locate(message: str, path: Path, lines: Mapping[str, int]) -> str:
    """Prefix ``message`` (``Resources.Fn.Properties.X: ...``) with ``file:line``.

    Properties that come from Globals have no line of their own; the nearest enclosing
    key that has one is used.
    """
    where = message.split(": ", 1)[0]
    while where:
        if where in lines:
            return f"{path}:{lines[where]}: {message}"
        where = where[: max(where.rfind("."), where.rfind("["), 0)]
    return message
