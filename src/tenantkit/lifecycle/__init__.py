"""Tenant lifecycle: export, import, offboarding, moves between tables.

Operator tools, built on ``tenantkit.dynamo``'s enumeration index (no scans) and
``tenantkit.auth``'s tenant records; the CLI is ``tenantkit tenant ...``
(:mod:`tenantkit.lifecycle.cli`). Nothing here is on a handler's path, and names are
imported on first use. See docs/lifecycle.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tenantkit._shared.lazy import lazy_exports

if TYPE_CHECKING:
    from tenantkit.lifecycle.backfill import backfill_index
    from tenantkit.lifecycle.move import Move
    from tenantkit.lifecycle.offboard import Offboarding
    from tenantkit.lifecycle.records import Checksum, Manifest
    from tenantkit.lifecycle.runs import Run, TableSpec
    from tenantkit.lifecycle.transfer import export_tenant, import_tenant

__all__ = [
    "Checksum",
    "Manifest",
    "Move",
    "Offboarding",
    "Run",
    "TableSpec",
    "backfill_index",
    "export_tenant",
    "import_tenant",
]

__getattr__ = lazy_exports(
    __name__,
    globals(),
    {
        "backfill_index": "tenantkit.lifecycle.backfill",
        "Move": "tenantkit.lifecycle.move",
        "Offboarding": "tenantkit.lifecycle.offboard",
        "Checksum": "tenantkit.lifecycle.records",
        "Manifest": "tenantkit.lifecycle.records",
        "Run": "tenantkit.lifecycle.runs",
        "TableSpec": "tenantkit.lifecycle.runs",
        "export_tenant": "tenantkit.lifecycle.transfer",
        "import_tenant": "tenantkit.lifecycle.transfer",
    },
)
