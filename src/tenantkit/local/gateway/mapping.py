"""What a mapping template sees: ``$input``, ``$util`` and ``$context``, as API Gateway
defines them (see the "Variables for data transformations" reference).

- ``$input.body`` is the raw payload; ``$input.json(path)`` the JSON text at a JSONPath
  (strings quoted); ``$input.path(path)`` the value itself, for VTL to walk;
  ``$input.params()`` the ``path``, ``querystring`` and ``header`` maps, and
  ``$input.params(name)`` one value, looked up in that order (``""`` when absent).
- ``$util``: ``escapeJavaScript`` (Apache Commons' JavaScript escaping, so ``'`` becomes
  ``\\'``), ``parseJson``, ``urlEncode``/``urlDecode`` (Java's form encoding) and
  ``base64Encode``/``base64Decode``.
- A body that is not JSON, read through ``$input.json``/``$input.path``, and a bad
  argument to ``$util.parseJson`` or ``$util.base64Decode`` are the caller's fault
  (:class:`~tenantkit.local.gateway.vtl.InputFault`, a 400), not the template's.

JSONPath is the subset templates use (``$``, ``.name``, ``['name']``, ``[n]``, ``[*]``,
``.*``), hand-written because it is small: a path with ``*`` yields a list, like Jayway's.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import urllib.parse
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from tenantkit.local.gateway.java import java_bytes, java_text
from tenantkit.local.gateway.vtl import InputFault

__all__ = ["Input", "Util", "escape_javascript", "json_path"]

_STEP = re.compile(
    r"""\.(?P<name>[A-Za-z_$][\w$-]*)|\.(?P<dotstar>\*)|\[(?P<index>-?\d+)\]"""
    r"""|\[(?P<star>\*)\]|\[\s*'(?P<single>[^']*)'\s*\]|\[\s*"(?P<double>[^"]*)"\s*\]"""
)
_MISSING = object()


def json_path(document: Any, expression: str) -> Any:
    """The value at ``expression`` in ``document``: None when a step is missing, a list
    of the values found when the path has a ``*`` (ValueError: not a path we read)."""
    expression = expression.strip()
    if not expression.startswith("$"):
        raise ValueError(f"a JSONPath starts with '$': {expression!r}")
    values, position, wildcard = [document], 1, False
    while position < len(expression):
        step = _STEP.match(expression, position)
        if step is None:
            raise ValueError(f"unsupported JSONPath {expression!r} at {position}")
        position = step.end()
        if step["star"] or step["dotstar"]:
            wildcard = True
            values = [
                item
                for value in values
                for item in (
                    value.values()
                    if isinstance(value, dict)
                    else value
                    if isinstance(value, list)
                    else ()
                )
            ]
            continue
        found = [_child(value, step) for value in values]
        values = [value for value in found if value is not _MISSING]
    if wildcard:
        return values
    return values[0] if values else None


def _child(value: Any, step: re.Match[str]) -> Any:
    if step["index"] is not None:
        index = int(step["index"])
        if isinstance(value, list) and -len(value) <= index < len(value):
            return value[index]
        return _MISSING
    key = step["name"] if step["name"] is not None else step["single"] or step["double"] or ""
    if isinstance(value, dict) and key in value:
        return value[key]
    return _MISSING


@lru_cache(maxsize=65536)
def _utf16_escape(code: int) -> str:
    raw = chr(code).encode("utf-16-be", "surrogatepass")
    return "".join(f"\\u{raw[i] << 8 | raw[i + 1]:04X}" for i in range(0, len(raw), 2))


class _JavaScriptEscapes(dict[int, str]):
    """``str.translate``'s table for :func:`escape_javascript`: every ASCII character up
    front, any other code point as its UTF-16 units (through a bounded cache)."""

    def __init__(self) -> None:
        super().__init__({code: chr(code) for code in range(0x80)})
        self.update({code: f"\\u{code:04X}" for code in range(0x20)})
        self.update({ord(c): "\\" + e for c, e in zip("\b\n\t\f\r", "bntfr", strict=True)})
        self.update({ord(c): "\\" + c for c in "'\"\\/"})

    def __missing__(self, code: int) -> str:
        return _utf16_escape(code)


_JS_ESCAPES = _JavaScriptEscapes()


def escape_javascript(text: Any) -> str:
    """Apache Commons Lang's ``escapeJavaScript``, which API Gateway's ``$util`` uses:
    ``'``, ``"``, ``\\`` and ``/`` get a backslash, control characters their short or
    ``\\u00XX`` form, and every non-ASCII UTF-16 unit ``\\uXXXX`` (upper-case hex)."""
    if text is None:
        return ""
    return java_text(text).translate(_JS_ESCAPES)


class Util:
    """``$util``."""

    def escapeJavaScript(self, text: Any) -> str:
        return escape_javascript(text)

    def parseJson(self, text: Any) -> Any:
        try:
            return json.loads(java_text(text))
        except (ValueError, RecursionError):
            raise InputFault("Invalid JSON in $util.parseJson") from None

    def urlEncode(self, text: Any) -> str:
        """Java's ``URLEncoder``: only ``A-Za-z0-9.-*_`` stay; space is ``+``."""
        return urllib.parse.quote_plus(java_bytes(java_text(text)), safe="*").replace("~", "%7E")

    def urlDecode(self, text: Any) -> str:
        return urllib.parse.unquote_plus(java_text(text))

    def base64Encode(self, text: Any) -> str:
        return base64.b64encode(java_bytes(java_text(text))).decode()

    def base64Decode(self, text: Any) -> str:
        try:
            return base64.b64decode(java_text(text), validate=True).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            raise InputFault("Invalid base64 in $util.base64Decode") from None


class Input:
    """``$input`` for one request (or one integration response's payload)."""

    def __init__(
        self,
        body: str,
        path: Mapping[str, str],
        querystring: Mapping[str, str],
        header: Mapping[str, str],
    ) -> None:
        self.body = body
        self._params = {
            "path": dict(path),
            "querystring": dict(querystring),
            "header": dict(header),
        }
        self._document: Any = _MISSING

    def _parsed(self) -> Any:
        if self._document is _MISSING:
            if not self.body.strip():
                self._document = {}
            else:
                try:
                    self._document = json.loads(self.body)
                except (ValueError, RecursionError) as error:
                    reason = getattr(error, "msg", "nested too deeply")
                    raise InputFault(f"Could not parse request body into json: {reason}") from None
        return self._document

    def path(self, expression: str) -> Any:
        return json_path(self._parsed(), str(expression))

    def json(self, expression: str) -> str:
        value = json_path(self._parsed(), str(expression))
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    def params(self, name: str | None = None) -> Any:
        if name is None:
            return self._params
        for kind in ("path", "querystring"):
            if name in self._params[kind]:
                return self._params[kind][name]
        lowered = name.lower()
        for header, value in self._params["header"].items():
            if header.lower() == lowered:
                return value
        return ""
