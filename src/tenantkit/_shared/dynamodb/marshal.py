"""A lean marshaller between plain Python values and DynamoDB ``AttributeValue`` dicts.

boto3's ``TypeSerializer`` walks a chain of ``isinstance`` checks per value (about 17us
for a 10-attribute item); this one dispatches on the exact type first (about 4us).
Floats are refused, as in boto3: DynamoDB numbers are exact decimals, and a float
would silently store a rounded value.

Values DynamoDB cannot hold are refused here with ``InvalidValueError`` (400), before any
AWS call: text with a lone surrogate (not encodable as UTF-8), and numbers outside
DynamoDB's range (38 significant digits once leading and trailing zeros are trimmed,
magnitude 1E-130 to 9.9999999999999999999999999999999999999E+125, no NaN or Infinity).

Numbers come back as ``int`` when they are integral literals and as ``Decimal``
otherwise, so JSON encoding of typical items needs no conversion. An attribute type this
module does not know is DynamoDB's answer, not the caller's input: ``UnexpectedResponseError``
(502), never a 400.

This is tenantkit's one marshaller: ``TenantTable`` and the control-plane store (users,
tenants, registry records, once-markers) both use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from tenantkit.errors import InvalidKeyError, InvalidValueError, UnexpectedResponseError

__all__ = [
    "check_text",
    "deserialize",
    "deserialize_item",
    "serialize",
    "serialize_item",
    "utf8_size",
]

_FLOAT_MESSAGE = (
    "float values are not supported because DynamoDB stores exact decimals; "
    "pass an int or a decimal.Decimal (e.g. Decimal(str(x))) instead"
)
_MAX_DIGITS = 38
_MAX_EXPONENT = 125  # adjusted exponent of 9.9999999999999999999999999999999999999E+125
_MIN_EXPONENT = -130  # of 1E-130
_SMALL_INT = 10**_MAX_DIGITS  # ints strictly inside +-10**38 always fit
_MAX_NESTING = 32


def _surrogate() -> InvalidValueError:
    # The value itself is not echoed: it is the caller's text, and it is not printable.
    return InvalidValueError(
        "a string contains a lone surrogate (U+D800-U+DFFF), which is not valid UTF-8 "
        "text and cannot be stored in DynamoDB; decode the input with errors='strict' "
        "or replace such characters first"
    )


def check_text(value: str) -> str:
    """``value`` if it is encodable as UTF-8 (no lone surrogate), else ``InvalidValueError``."""
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:
            raise _surrogate() from None
    return value


def utf8_size(value: str) -> int:
    """The UTF-8 size of ``value`` in bytes; ``InvalidValueError`` for a lone surrogate."""
    if value.isascii():
        return len(value)
    try:
        return len(value.encode())
    except UnicodeEncodeError:
        raise _surrogate() from None


def _nested(depth: int) -> int:
    if depth >= _MAX_NESTING:
        raise InvalidValueError(
            f"lists and maps nest more than {_MAX_NESTING} levels deep (or contain "
            "themselves); DynamoDB stores at most 32 levels"
        )
    return depth + 1


def _out_of_range() -> InvalidValueError:
    return InvalidValueError(
        "a number is outside DynamoDB's range: at most 38 significant digits and a "
        "magnitude from 1E-130 to 9.9999999999999999999999999999999999999E+125 (or 0)"
    )


def _number(value: int | Decimal) -> str:
    if isinstance(value, int):
        value = int(value)  # int(): an IntEnum's str() is not its number everywhere
        if -_SMALL_INT < value < _SMALL_INT:
            return str(value)
        value = Decimal(value)  # exact; also avoids str() of ints over 4,300 digits
    if not value.is_finite():
        raise InvalidValueError("DynamoDB numbers must be finite; NaN and Infinity are refused")
    text = str(value)
    if len(text) <= _MAX_DIGITS and _MIN_EXPONENT <= value.adjusted() <= _MAX_EXPONENT:
        return text  # the common case: no more than 38 digits in all, in range
    digits = value.as_tuple().digits
    if not any(digits):
        # Zero has no magnitude to check; an exponent DynamoDB would refuse is dropped.
        return text if _MIN_EXPONENT <= value.adjusted() <= _MAX_EXPONENT else "0"
    significant = len(digits)
    while digits[significant - 1] == 0:
        significant -= 1
    if significant > _MAX_DIGITS or not _MIN_EXPONENT <= value.adjusted() <= _MAX_EXPONENT:
        raise _out_of_range()
    # Sent as written: DynamoDB trims leading and trailing zeros before counting digits.
    return text


def _set(value: set[Any] | frozenset[Any]) -> dict[str, Any]:
    if not value:
        raise InvalidValueError("DynamoDB cannot store an empty set; remove the attribute instead")
    if all(type(v) is str for v in value):
        return {"SS": sorted(check_text(v) for v in value)}
    if all(isinstance(v, bytes | bytearray) for v in value):
        return {"BS": sorted(bytes(v) for v in value)}
    if all(isinstance(v, int | Decimal) and not isinstance(v, bool) for v in value):
        return {"NS": sorted(_number(v) for v in value)}
    if any(isinstance(v, float) for v in value):
        raise InvalidValueError(_FLOAT_MESSAGE)
    raise InvalidValueError(
        "a set must hold only strings, only numbers (int/Decimal) or only bytes"
    )


def serialize(value: object, depth: int = 0) -> dict[str, Any]:
    """The ``AttributeValue`` for ``value``; raises ``InvalidValueError`` for refused ones.

    ``depth`` counts the lists and maps around ``value``: DynamoDB nests at most 32 deep,
    and a deeper (or self-containing) value is refused before Python's recursion limit.
    """
    t = type(value)
    if t is str:
        return {"S": value if value.isascii() else check_text(value)}  # type: ignore[attr-defined, arg-type]
    if t is int:
        small = -_SMALL_INT < value < _SMALL_INT
        return {"N": str(value) if small else _number(value)}  # type: ignore[arg-type]
    if t is bool:
        return {"BOOL": value}
    if t is dict:
        return {"M": serialize_item(value, _nested(depth))}  # type: ignore[arg-type]
    if t is list or t is tuple:
        inner = _nested(depth)
        return {"L": [serialize(v, inner) for v in value]}  # type: ignore[attr-defined]
    if value is None:
        return {"NULL": True}
    if t is Decimal:
        return {"N": _number(value)}  # type: ignore[arg-type]
    if t is float:
        raise InvalidValueError(_FLOAT_MESSAGE)
    # Subclasses (str enums, OrderedDict, ...) take the slower isinstance path.
    if isinstance(value, bool):
        return {"BOOL": bool(value)}
    if isinstance(value, str):
        return {"S": check_text(value)}  # a str subclass (StrEnum) is sent as its string value
    if isinstance(value, int | Decimal):
        return {"N": _number(value)}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"B": bytes(value)}
    if isinstance(value, set | frozenset):
        return _set(value)
    if isinstance(value, Mapping):
        return {"M": serialize_item(value, _nested(depth))}
    if isinstance(value, list | tuple):
        inner = _nested(depth)
        return {"L": [serialize(v, inner) for v in value]}
    if isinstance(value, float):
        raise InvalidValueError(_FLOAT_MESSAGE)
    raise InvalidValueError(
        f"values of type {t.__name__} cannot be stored in DynamoDB; use str, int, Decimal, "
        "bool, None, bytes, list, dict or set"
    )


def serialize_item(item: Mapping[str, Any], depth: int = 0) -> dict[str, Any]:
    """Marshal a mapping of attribute names to plain values (``depth``: see ``serialize``)."""
    out: dict[str, Any] = {}
    for name, value in item.items():
        if type(name) is not str:
            raise InvalidKeyError("attribute names must be strings")
        if not name.isascii():
            check_text(name)
        out[name] = serialize(value, depth)
    return out


def _decode_number(text: str) -> int | Decimal:
    if "." in text or "e" in text or "E" in text:
        return Decimal(text)
    return int(text)


def deserialize(av: Mapping[str, Any]) -> Any:
    """The plain Python value of an ``AttributeValue`` dict."""
    if "S" in av:
        return av["S"]
    if "N" in av:
        text = av["N"]
        return Decimal(text) if "." in text or "e" in text or "E" in text else int(text)
    if "M" in av:
        return deserialize_item(av["M"])
    if "L" in av:
        return [v["S"] if "S" in v else deserialize(v) for v in av["L"]]
    if "BOOL" in av:
        return av["BOOL"]
    if "NULL" in av:
        return None
    if "SS" in av:
        return set(av["SS"])
    if "NS" in av:
        return {_decode_number(x) for x in av["NS"]}
    if "B" in av:
        return bytes(av["B"])
    if "BS" in av:
        return {bytes(x) for x in av["BS"]}
    # DynamoDB's answer, not the caller's input: a server-side fault, never a 400.
    raise UnexpectedResponseError(
        f"DynamoDB returned an attribute value of a type tenantkit does not know "
        f"({sorted(av)[:3]}); upgrade tenantkit"
    )


def deserialize_item(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Unmarshal a mapping of attribute names to ``AttributeValue`` dicts."""
    out: dict[str, Any] = {}
    # The common tags are tested inline: a call per attribute would cost a third more.
    for name, av in raw.items():
        if "S" in av:
            out[name] = av["S"]
        elif "N" in av:
            text = av["N"]
            out[name] = Decimal(text) if "." in text or "e" in text or "E" in text else int(text)
        elif "M" in av:
            out[name] = deserialize_item(av["M"])
        elif "L" in av:
            out[name] = [v["S"] if "S" in v else deserialize(v) for v in av["L"]]
        elif "BOOL" in av:
            out[name] = av["BOOL"]
        else:
            out[name] = deserialize(av)
    return out
