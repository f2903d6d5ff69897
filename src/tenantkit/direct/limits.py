"""A regular expression for the decimal integers 1..maximum, since VTL cannot compare numbers
held in strings: a ``limit`` query parameter is matched against it before it is placed,
unquoted, into a request."""

from __future__ import annotations

__all__ = ["range_pattern"]


def range_pattern(maximum: int) -> str:
    """A group matching the canonical spellings of 1..maximum (no sign, no leading zero)."""
    if maximum < 1:
        raise ValueError("maximum must be at least 1")
    top = str(maximum)
    options = [f"[1-9][0-9]{{{length - 1}}}" for length in range(1, len(top))]
    for position, digit in enumerate(top):
        low = 1 if position == 0 else 0
        if int(digit) > low:
            rest = len(top) - position - 1
            options.append(f"{top[:position]}[{low}-{int(digit) - 1}][0-9]{{{rest}}}")
    options.append(top)
    return "(" + "|".join(options) + ")"
