"""Package faces that import their names on first use (PEP 562 module ``__getattr__``).

A Lambda pays at cold start for every module it imports. A face such as
``tenantkit.auth`` lists many names, and a function uses few: ``from tenantkit.auth
import UserDirectory`` must not load PyJWT. So a face maps each public name to the
module defining it, and that module is imported when the name is first read.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, namespace: dict[str, Any], modules: Mapping[str, str]
) -> Callable[[str], Any]:
    """The ``__getattr__`` of ``package``: ``modules`` maps each name to its module's
    full dotted path. A name read once is stored in ``namespace`` (the package's
    ``globals()``), so later reads are plain attribute lookups."""

    def __getattr__(name: str) -> Any:
        module = modules.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    return __getattr__
