"""A small mapping-template renderer for these tests: airspeed plus the few members of
API Gateway's ``$input``, ``$util`` and ``$context`` that generated templates use.

Written here, not imported from ``tenantkit.local``: the tests check the generated
templates against an engine of their own. ``escape_javascript`` models Java's
``StringEscapeUtils.escapeJavaScript`` (commons-lang 2), which API Gateway's
``$util.escapeJavaScript`` is: ``'`` becomes ``\\'``, ``/`` becomes ``\\/``, controls and
everything past ASCII become ``\\uXXXX`` (UTF-16 units, upper-case hex); DEL stays.
A boolean prints as Java prints it (``true``), since templates compare printed text.
"""

from __future__ import annotations

import importlib.util
import json
import re
from dataclasses import dataclass, field
from functools import cache
from types import ModuleType
from typing import Any

_SHORT = {
    "\b": "\\b",
    "\n": "\\n",
    "\t": "\\t",
    "\f": "\\f",
    "\r": "\\r",
    "'": "\\'",
    '"': '\\"',
    "\\": "\\\\",
    "/": "\\/",
}


def escape_javascript(text: str) -> str:
    out = []
    for char in text:
        if char in _SHORT:
            out.append(_SHORT[char])
        elif " " <= char <= "\x7f":
            out.append(char)
        else:
            data = char.encode("utf-16-be")
            out += [f"\\u{data[i]:02X}{data[i + 1]:02X}" for i in range(0, len(data), 2)]
    return "".join(out)


def _java_replacement(replacement: str) -> str:
    return re.sub(r"\$(\d)", r"\\g<\1>", replacement.replace("\\", "\\\\"))


def _split(text: str, pattern: str) -> list[str]:
    parts = re.split(pattern, text)
    if len(parts) == 1:
        return parts
    while parts and parts[-1] == "":
        parts.pop()
    return parts


@cache
def _engine() -> ModuleType:
    """A private airspeed: string literals keep their backslashes, as Velocity's do."""
    found = importlib.util.find_spec("airspeed")
    assert found is not None
    assert found.origin is not None
    spec = importlib.util.spec_from_file_location("direct_tests_airspeed", found.origin)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    never = re.compile(r"(?!)")
    module.StringLiteral.ESCAPED_CHAR = never
    module.InterpolatedStringLiteral.ESCAPED_CHAR = never
    module.__additional_methods__[str] = {
        "replaceAll": lambda s, p, r: re.sub(p, _java_replacement(r), s),
        "startsWith": str.startswith,
        "contains": lambda s, part: part in s,
        "matches": lambda s, p: re.fullmatch(p, s) is not None,
        "split": _split,
    }
    module.__additional_methods__[list] = {"size": len, "get": lambda items, i: items[i]}
    module.FormalReference.evaluate_raw = _print_as_java
    return module


def _print_as_java(self: Any, stream: Any, namespace: Any, loader: Any) -> None:
    """airspeed's reference printing, except that booleans print as Java's true/false."""
    value = None if self.expression is None else self.expression.calculate(namespace, loader)
    if value is None:
        if self.alternate is not None:
            value = self.alternate.calculate(namespace, loader)
        elif self.silent and self.expression is not None:
            value = ""
        else:
            value = self.my_text()
    stream.write(("true" if value else "false") if isinstance(value, bool) else str(value))


@cache
def _compiled(template: str) -> Any:
    compiled = _engine().Template(template)
    compiled.ensure_compiled()
    return compiled


class Util:
    def escapeJavaScript(self, text: Any) -> str | None:
        return None if text is None else escape_javascript(str(text))

    def parseJson(self, text: str) -> Any:
        return json.loads(text)


def _path(document: Any, expression: str) -> Any:
    assert expression == "$" or expression.startswith("$."), expression
    value = document
    for step in expression[2:].split(".") if expression != "$" else []:
        if not isinstance(value, dict):
            return None
        value = value.get(step)
    return value


class Input:
    def __init__(self, body: Any, path: dict[str, str], query: dict[str, str]) -> None:
        self._body = body
        self._params = {"path": dict(path), "querystring": dict(query), "header": {}}

    def path(self, expression: str) -> Any:
        return _path(self._body, expression)

    def json(self, expression: str) -> str:
        value = _path(self._body, expression)
        return "" if value is None else json.dumps(value)

    def params(self) -> dict[str, dict[str, str]]:
        return self._params


@dataclass
class Rendered:
    text: str
    status: int | None = None
    context: dict[str, Any] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.text)


def render(
    template: str,
    *,
    tenant: str | None = "texas",
    body: Any = None,
    path: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    request_id: str = "c0ffee00-0000-4000-8000-00000000000a",
    authorizer: dict[str, str] | None = None,
) -> Rendered:
    """Render ``template`` for a request (or, with ``body`` a service's answer, a response)."""
    context: dict[str, Any] = {
        "authorizer": {
            **({} if tenant is None else {"tenantId": tenant}),
            "userId": "alice",
            **(authorizer or {}),
        },
        "requestId": request_id,
        "requestTime": "30/Nov/2026:10:00:00 +0000",
        "responseOverride": {"status": None, "header": {}},
    }
    namespace = {"input": Input(body, path or {}, query or {}), "util": Util(), "context": context}
    text = _compiled(template).merge(namespace)
    return Rendered(str(text), context["responseOverride"]["status"], context)
