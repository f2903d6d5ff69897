"""API Gateway's mapping-template engine: Velocity (airspeed) with API Gateway's quirks.

airspeed is a Python Velocity, but it differs from the Velocity 1.7 that API Gateway
runs in ways that change what a template produces. This module loads a *private* copy
of airspeed (so moto, or anyone else importing airspeed, keeps the stock behaviour) and
fixes, in that copy only:

- ``#$ref``: airspeed keeps ``#$`` as literal text and leaves the reference unrendered;
  Velocity writes ``#`` and renders ``$ref`` (``"$tenant#park#$id"``).
- Printing: values print as Java does (``true``/``false``, ``{k=v}``, ``[a, b]``), not as
  Python (``True``, ``{'k': 'v'}``). A reference whose value is null prints nothing, as
  API Gateway does, instead of the reference's own text.
- String literals: Velocity does not interpret backslashes in ``"..."`` or ``'...'``, so
  ``.replaceAll("\\\\'", "'")`` (AWS's idiom after ``$util.escapeJavaScript``) receives
  the regular expression ``\\\\'`` and turns ``\\'`` back into ``'``.
- Truth: ``#if``, ``!``, ``&&`` and ``||`` hold anything but null and ``false`` true,
  as Velocity 1.7 does (``#if("")`` is true), not Python's truthiness.
- ``#set($context.responseOverride.header.X-Trace = ...)``: a ``#set`` place may name
  a header with ``-``, as Velocity 1.7 names may.
- Java's string and map methods templates rely on (``toLowerCase``, ``trim``,
  ``matches`` on the whole string, ``replaceAll`` with ``$1`` groups, ``split`` on a
  regular expression, ``containsKey``, ``entrySet``...), ahead of Python's own.

:func:`render` tells a broken template (:class:`TemplateFault`, the API's configuration:
a 500) from input the template could not use (:class:`InputFault`, the caller's: a 400).
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable, Mapping
from functools import cache
from types import ModuleType
from typing import Any

__all__ = ["InputFault", "TemplateFault", "java_text", "render", "velocity_true"]


class TemplateFault(Exception):
    """The template cannot be rendered: a syntax error, or a call it makes fails."""


class InputFault(Exception):
    """The request's input cannot be used by the template (a body that is not JSON...):
    API Gateway answers the caller 400 with this message."""


def java_text(value: Any) -> str:
    """``value`` as Java's ``toString`` prints it (what Velocity writes for a reference)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{java_text(k)}={java_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(java_text(v) for v in value) + "]"
    return str(value)


def velocity_true(value: Any) -> bool:
    """Velocity 1.7's truth: anything but null and ``false`` (``""``, ``0``, ``[]`` are true)."""
    return value is not None and value is not False


def _java_replacement(replacement: str) -> str:
    """A Java ``replaceAll`` replacement (``$1``, ``\\$``) as a Python one (``\\g<1>``)."""
    out: list[str] = []
    index = 0
    while index < len(replacement):
        char = replacement[index]
        if char == "\\" and index + 1 < len(replacement):
            out.append(replacement[index + 1].replace("\\", "\\\\"))
            index += 2
            continue
        group = re.match(r"\$(\d)", replacement[index:])
        if group is not None:
            out.append(f"\\g<{group.group(1)}>")
            index += 2
            continue
        out.append("\\\\" if char == "\\" else char)
        index += 1
    return "".join(out)


def _split(text: str, pattern: str) -> list[str]:
    """Java's ``String.split``: trailing empty strings are dropped."""
    parts = re.split(pattern, text)
    while parts and parts[-1] == "":
        parts.pop()
    return parts


_STRING_METHODS: dict[str, Callable[..., Any]] = {
    "length": len,
    "isEmpty": lambda s: not s,
    "toLowerCase": str.lower,
    "toUpperCase": str.upper,
    "trim": lambda s: s.strip(" \t\n\r\x0b\x0c\x00"),
    "startsWith": str.startswith,
    "endsWith": str.endswith,
    "contains": lambda s, part: str(part) in s,
    "equals": lambda s, other: s == other,
    "indexOf": lambda s, part: s.find(str(part)),
    "substring": lambda s, start, end=None: s[start:end],
    "matches": lambda s, pattern: re.fullmatch(pattern, s) is not None,
    "replace": lambda s, old, new: s.replace(str(old), str(new)),
    "replaceAll": lambda s, pattern, repl: re.sub(pattern, _java_replacement(repl), s),
    "split": _split,
    "toString": lambda s: s,
}
_MAP_METHODS: dict[str, Callable[..., Any]] = {
    "get": lambda m, key: m.get(key),
    "containsKey": lambda m, key: key in m,
    "isEmpty": lambda m: not m,
    "size": len,
    "keySet": lambda m: list(m),
    "values": lambda m: list(m.values()),
    "entrySet": lambda m: [{"key": k, "value": v} for k, v in m.items()],
    "put": lambda m, key, value: m.__setitem__(key, value),
    "putAll": lambda m, other: m.update(other),
    "remove": lambda m, key: m.pop(key, None),
    "toString": java_text,
}
_LIST_METHODS: dict[str, Callable[..., Any]] = {
    "size": len,
    "isEmpty": lambda items: not items,
    "get": lambda items, index: items[index],
    "contains": lambda items, value: value in items,
    "add": lambda items, value: items.append(value) or True,
    "toString": java_text,
}


@cache
def _airspeed() -> ModuleType:
    """A private copy of the ``airspeed`` module, with API Gateway's behaviour."""
    found = importlib.util.find_spec("airspeed")
    if found is None or found.origin is None:  # pragma: no cover - the extra's dependency
        raise ModuleNotFoundError("airspeed is needed for mapping templates")
    spec = importlib.util.spec_from_file_location("tenantkit_airspeed", found.origin)
    if spec is None or spec.loader is None:  # pragma: no cover - found above
        raise ModuleNotFoundError("airspeed cannot be loaded")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = module.Text
    # As airspeed's own pattern, except that "#" followed by "$" is a lone "#".
    text.PLAIN = re.compile(
        r"((?:[^\\\$#]+|\\[\$#])+|\$[^!\{a-z0-9_]|\$$|#$|#(?=\$)|#[^\{\}a-zA-Z0-9#\*\$]+|\\.)",
        re.S | re.I,
    )
    # "#set($context.responseOverride.header.X-Trace = ...)": Velocity 1.7 names may
    # hold "-"; airspeed's #set place may not (only there: reading "$a-$b" is unchanged).
    module.SetDirective.PLACE = re.compile(
        r"\s*\$([a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_-]*)*)", re.S | re.I
    )
    never = re.compile(r"(?!)")
    module.StringLiteral.ESCAPED_CHAR = never
    module.InterpolatedStringLiteral.ESCAPED_CHAR = never

    def evaluate_raw(self: Any, stream: Any, namespace: Any, loader: Any) -> None:
        if self.expression is None:
            stream.write(self.my_text())
            return
        value = self.expression.calculate(namespace, loader)
        if value is None and self.alternate is not None:
            value = self.alternate.calculate(namespace, loader)
        stream.write(java_text(value))

    module.FormalReference.evaluate_raw = evaluate_raw
    lookup = module.NameOrCall.calculate

    def calculate(self: Any, current: Any, loader: Any, top_namespace: Any) -> Any:
        # A Java method call wins over Python's own attribute (str.split is not Java's).
        java = module.__additional_methods__.get(type(current), {}).get(self.name)
        if java is not None and self.parameters is not None:
            return java(current, *self.parameters.calculate(top_namespace, loader))
        return lookup(self, current, loader, top_namespace)

    module.NameOrCall.calculate = calculate
    unary = module.UnaryOperatorValue.OPERATORS
    unary["!"] = unary["not"] = lambda value: not velocity_true(value)
    binary = module.BinaryOperator.OPERATORS
    binary["||"] = binary["or"] = lambda a, b: velocity_true(a) or velocity_true(b)
    binary["&&"] = binary["and"] = lambda a, b: velocity_true(a) and velocity_true(b)

    def evaluate_if(self: Any, stream: Any, namespace: Any, loader: Any) -> None:
        if velocity_true(self.condition.calculate(namespace, loader)):
            self.block.evaluate(stream, namespace, loader)
            return
        for elseif in self.elseifs:
            if velocity_true(elseif.calculate(namespace, loader)):
                elseif.evaluate(stream, namespace, loader)
                return
        self.else_block.evaluate(stream, namespace, loader)

    module.IfDirective.evaluate_raw = evaluate_if
    methods = module.__additional_methods__
    methods[str] = dict(_STRING_METHODS)
    methods[dict] = dict(_MAP_METHODS)
    methods[list] = dict(_LIST_METHODS)
    return module


@cache
def _compiled(template: str) -> Any:
    engine = _airspeed()
    compiled = engine.Template(_cr_free(template))
    try:
        compiled.ensure_compiled()
    except engine.TemplateSyntaxError as error:
        raise TemplateFault(f"syntax error: {error}") from None
    return compiled


def _cr_free(template: str) -> str:
    """Templates written on Windows: airspeed's directives expect ``\\n`` line ends."""
    return template.replace("\r\n", "\n")


def render(template: str, variables: Mapping[str, Any]) -> str:
    """Render ``template`` with ``variables`` (``$input``, ``$util``, ``$context``...).

    :class:`InputFault` when a variable refused the request's input; any other failure
    is the template's (:class:`TemplateFault`, with what failed). ``variables`` values
    that the template sets (``$context.responseOverride``...) are changed in place.
    """
    compiled = _compiled(template)
    engine = _airspeed()
    try:
        return str(compiled.merge(dict(variables)))
    except engine.TemplateError as error:
        cause: BaseException | None = error
        while cause is not None:
            if isinstance(cause, InputFault):
                raise cause from None
            cause = cause.__cause__
        detail = error.__cause__ if error.__cause__ is not None else error
        raise TemplateFault(f"{type(detail).__name__}: {detail}") from None
    except RecursionError:
        raise TemplateFault("the template recurses too deeply") from None
