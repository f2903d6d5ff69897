"""CloudFormation intrinsics: one visitor, and what checks and resolves them.

``Ref``, ``Fn::GetAtt``, ``Fn::Sub`` and ``Fn::Join`` are supported; any other ``Fn::``
(``Fn::If``, ``Fn::Select``...) and ``Condition`` fail at load time. :class:`Visitor`
is the one walk over template data: it recognises an intrinsic, checks the shape of its
arguments, visits the values nested in them, and hands it to the subclass. So the
load-time check and the resolution against the backend cannot disagree about what an
intrinsic is.

Resolution is lazy (:class:`Resolver`), because ``Ref`` and ``Fn::GetAtt`` of tables,
queues, topics and secrets take their values from the backend that created them (a
queue URL, a secret ARN with its random suffix); asking for them is what creates them,
in dependency order (:mod:`~tenantkit.local.template.creation`).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from tenantkit.local.template.model import Attributes, Template, TemplateError
from tenantkit.local.template.support import GETATT

__all__ = [
    "NO_VALUE",
    "PSEUDO_PARAMETERS",
    "Resolver",
    "Visitor",
    "check_intrinsics",
]

T = TypeVar("T")

PSEUDO_PARAMETERS = frozenset(
    {
        "AWS::AccountId",
        "AWS::NoValue",
        "AWS::Partition",
        "AWS::Region",
        "AWS::StackName",
        "AWS::StackId",
        "AWS::URLSuffix",
    }
)
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Any = _NoValue()
"""What ``Ref: AWS::NoValue`` resolves to; the enclosing key or list item is dropped."""


class Visitor(ABC, Generic[T]):
    """Walks template data; each intrinsic goes to its own method, other data to
    :meth:`mapping`, :meth:`sequence` or :meth:`scalar`, children visited first."""

    def visit(self, value: Any, where: str) -> T:
        if isinstance(value, list):
            return self.sequence([self.visit(v, f"{where}[{i}]") for i, v in enumerate(value)])
        if not isinstance(value, dict):
            return self.scalar(value)
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                if not isinstance(arg, str):
                    raise TemplateError(f"{where}: Ref to unknown parameter or resource {arg!r}")
                return self.ref(arg, where)
            if key == "Fn::GetAtt":
                if not (
                    isinstance(arg, list) and len(arg) == 2 and all(isinstance(a, str) for a in arg)
                ):
                    raise TemplateError(f"{where}: Fn::GetAtt takes [LogicalId, Attribute]")
                return self.getatt(arg[0], arg[1], where)
            if key == "Fn::Sub":
                text, variables = _sub_parts(arg, where)
                values = {k: self.visit(v, f"{where}.Fn::Sub.{k}") for k, v in variables.items()}
                return self.sub(text, values, where)
            if key == "Fn::Join":
                if not (isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str)):
                    raise TemplateError(f"{where}: Fn::Join takes [delimiter, [values]]")
                return self.join(arg[0], self.visit(arg[1], f"{where}.Fn::Join[1]"), where)
            if key.startswith("Fn::") or key == "Condition":
                raise TemplateError(f"{where}: intrinsic function {key} is not supported")
        return self.mapping({k: self.visit(v, f"{where}.{k}") for k, v in value.items()})

    @abstractmethod
    def ref(self, name: str, where: str) -> T: ...

    @abstractmethod
    def getatt(self, logical_id: str, attribute: str, where: str) -> T: ...

    @abstractmethod
    def sub(self, text: str, variables: dict[str, T], where: str) -> T:
        """``variables`` are the explicit ones, visited; ``sub_names(text)`` names all."""
        ...

    @abstractmethod
    def join(self, delimiter: str, values: T, where: str) -> T: ...

    @abstractmethod
    def mapping(self, items: dict[str, T]) -> T: ...

    @abstractmethod
    def sequence(self, items: list[T]) -> T: ...

    @abstractmethod
    def scalar(self, value: Any) -> T: ...


def sub_names(text: str) -> list[str]:
    """The ``${Name}`` and ``${Resource.Attribute}`` variables of a Sub string; ``${!x}``
    is the literal ``${x}``, no variable."""
    return [name for name in _SUB_VARIABLE.findall(text) if not name.startswith("!")]


def _sub_parts(arg: Any, where: str) -> tuple[str, dict[str, Any]]:
    if isinstance(arg, str):
        return arg, {}
    if (
        isinstance(arg, list)
        and len(arg) == 2
        and isinstance(arg[0], str)
        and isinstance(arg[1], dict)
    ):
        return arg[0], arg[1]
    raise TemplateError(f"{where}: Fn::Sub takes a string or [string, {{variables}}]")


class _Walk(Visitor[None]):
    """A visitor that only looks: its subclasses record or refuse as they go."""

    def ref(self, name: str, where: str) -> None:
        return None

    def getatt(self, logical_id: str, attribute: str, where: str) -> None:
        return None

    def sub(self, text: str, variables: dict[str, None], where: str) -> None:
        return None

    def join(self, delimiter: str, values: None, where: str) -> None:
        return None

    def mapping(self, items: dict[str, None]) -> None:
        return None

    def sequence(self, items: list[None]) -> None:
        return None

    def scalar(self, value: Any) -> None:
        return None


class _Check(_Walk):
    def __init__(self, template: Template) -> None:
        self.template = template

    def _known(self, name: str) -> bool:
        template = self.template
        return (
            name in template.parameters or name in template.resources or name in PSEUDO_PARAMETERS
        )

    def ref(self, name: str, where: str) -> None:
        if not self._known(name):
            raise TemplateError(f"{where}: Ref to unknown parameter or resource {name!r}")

    def getatt(self, logical_id: str, attribute: str, where: str) -> None:
        target = self.template.resources.get(logical_id)
        if target is None:
            raise TemplateError(f"{where}: Fn::GetAtt of unknown resource {logical_id!r}")
        if attribute not in GETATT.get(target.type, frozenset()):
            raise TemplateError(
                f"{where}: Fn::GetAtt {logical_id}.{attribute} is not supported for {target.type}"
            )

    def sub(self, text: str, variables: dict[str, None], where: str) -> None:
        for name in sub_names(text):
            if name in variables:
                continue
            logical_id, dot, attribute = name.partition(".")
            if dot and logical_id in self.template.resources:
                self.getatt(logical_id, attribute, where)
            elif not self._known(name):
                raise TemplateError(f"{where}: Fn::Sub names unknown variable ${{{name}}}")


def check_intrinsics(template: Template, value: Any, where: str) -> None:
    """Fail on unsupported intrinsics, malformed arguments and dangling references."""
    _Check(template).visit(value, where)


class Resolver(Visitor[Any]):
    """Resolves intrinsics against parameters, pseudo parameters and resource attributes.

    ``attributes`` gives a resource's values, creating it if need be
    (:class:`~tenantkit.local.template.creation.OnDemand`); None: it has none locally.
    """

    def __init__(
        self,
        template: Template,
        *,
        region: str,
        account_id: str,
        stack_name: str,
        attributes: Callable[[str], Attributes | None],
    ) -> None:
        self._template = template
        self._attributes = attributes
        self.pseudo: dict[str, Any] = {
            "AWS::AccountId": account_id,
            "AWS::NoValue": NO_VALUE,
            "AWS::Partition": "aws",
            "AWS::Region": region,
            "AWS::StackName": stack_name,
            "AWS::StackId": (
                f"arn:aws:cloudformation:{region}:{account_id}:stack/{stack_name}/local"
            ),
            "AWS::URLSuffix": "amazonaws.com",
        }

    def resolve(self, value: Any, where: str) -> Any:
        return self.visit(value, where)

    def ref(self, name: str, where: str) -> Any:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self._template.parameters:
            return self._template.parameters[name]
        return self._resource(name, where).ref

    def getatt(self, logical_id: str, attribute: str, where: str) -> Any:
        return self._resource(logical_id, where).atts[attribute]

    def _resource(self, name: str, where: str) -> Attributes:
        attributes = self._attributes(name)
        if attributes is None:
            raise TemplateError(f"{where}: {name} is referenced before it exists")
        return attributes

    def sub(self, text: str, variables: dict[str, Any], where: str) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return _text(variables[name], where)
            logical_id, dot, attribute = name.partition(".")
            if dot and logical_id in self._template.resources:
                return _text(self.getatt(logical_id, attribute, where), where)
            return _text(self.ref(name, where), where)

        return _SUB_VARIABLE.sub(replace, text)

    def join(self, delimiter: str, values: Any, where: str) -> str:
        if not isinstance(values, list):
            raise TemplateError(f"{where}: Fn::Join needs a list of values")
        return delimiter.join(_text(v, where) for v in values)

    def mapping(self, items: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in items.items() if value is not NO_VALUE}

    def sequence(self, items: list[Any]) -> list[Any]:
        return [item for item in items if item is not NO_VALUE]

    def scalar(self, value: Any) -> Any:
        return value


def _text(value: Any, where: str) -> str:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)
    raise TemplateError(f"{where}: cannot use {type(value).__name__} value inside a string")
