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
- Truth and operators: ``#if``, ``!``, ``&&`` and ``||`` hold anything but null and
  ``false`` true, as Velocity 1.7 does (``#if("")`` is true); arithmetic and comparison
  are Velocity's, lenient where Python raises (:mod:`.java`).
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
from collections.abc import Mapping
from functools import cache
from types import ModuleType
from typing import Any

from tenantkit.local.gateway.java import (
    LIST_METHODS,
    MAP_METHODS,
    OPERATORS,
    STRING_METHODS,
    java_text,
    velocity_true,
)

__all__ = ["InputFault", "TemplateFault", "render"]


class TemplateFault(Exception):
    """The template cannot be rendered: a syntax error, or a call it makes fails."""


class InputFault(Exception):
    """The request's input cannot be used by the template (a body that is not JSON...):
    API Gateway answers the caller 400 with this message."""


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
    module.BinaryOperator.OPERATORS.update(OPERATORS)

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
    methods[str] = dict(STRING_METHODS)
    methods[dict] = dict(MAP_METHODS)
    methods[list] = dict(LIST_METHODS)
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
