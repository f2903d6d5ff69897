"""The segments of a JSONPath reference path, for :func:`~tenantkit.direct.asl.check_state_machine`.

A ``ResultPath`` decides which field of a state's input its result replaces. The check must
know whether that is the tenant field, and ``$.tenantId``, ``$['tenantId']`` and
``$["tenantId"][0]`` all are, so it compares parsed segments, never text. The reader is
deliberately narrow: anything it does not read exactly (wildcards, filters, recursive
descent, spaces, escapes) is ``None``, which the check treats as unsafe.
"""

from __future__ import annotations

import re

__all__ = ["parse_reference_path"]

#: One segment: ``.name``, ``['name']``, ``["name"]`` or ``[index]``.
_SEGMENT = re.compile(r"""\.([A-Za-z0-9_-]+)|\['([^'\\\s]+)'\]|\["([^"\\\s]+)"\]|\[([0-9]+)\]""")


def parse_reference_path(path: object) -> list[str] | None:
    """The segments of a reference path (``$.a['b'][0]`` is ``["a", "b", "0"]``; ``$`` is
    ``[]``), or ``None`` when it is not one this reader reads."""
    if not isinstance(path, str) or not path.startswith("$"):
        return None
    segments, at = [], 1
    while at < len(path):
        match = _SEGMENT.match(path, at)
        if match is None:
            return None
        segments.append(next(group for group in match.groups() if group is not None))
        at = match.end()
    return segments
