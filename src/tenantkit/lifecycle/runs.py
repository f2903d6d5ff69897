"""What every lifecycle run shares: the table it works on, progress, audit and summary.

A :class:`TableSpec` describes the app's table as ``TenantTable`` sees it (key names,
the GSIs whose partition keys are tenant-prefixed, the enumeration index), so an
operator tool reads and writes items exactly as the app does: prefixes verified and
stripped, ``tkshard`` maintained. A :class:`Run` counts work, shows a progress bar on a
terminal (tqdm, the ``lifecycle`` extra, imported only then), and ends with one audit
line (decision 27) and a JSON summary.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType, TracebackType
from typing import Any

from tenantkit.auth.tenant_admin import audit_log
from tenantkit.dynamo.enumeration import Enumeration
from tenantkit.dynamo.table import DEFAULT_INDEXES, TenantTable

__all__ = ["BATCH_WRITE", "Run", "TableSpec"]

#: Keys per ``BatchWriteItem``: DynamoDB's limit.
BATCH_WRITE = 25


@dataclass(frozen=True, slots=True)
class TableSpec:
    """The app's table: its name, key attributes, prefixed GSIs and enumeration index.

    ``indexes`` must name every GSI partition key the app's ``TenantTable`` declares:
    an undeclared one would be exported with its tenant prefix and imported verbatim.
    ``client`` is a DynamoDB client (built from boto3's defaults when ``None``).
    """

    name: str
    partition_key: str = "pk"
    sort_key: str | None = "sk"
    indexes: Mapping[str, str] = field(default_factory=lambda: MappingProxyType(DEFAULT_INDEXES))
    enumeration: Enumeration = field(default_factory=Enumeration)
    client: Any = None

    def tenant_table(self, tenant: str, table: str | None = None) -> TenantTable:
        """A ``TenantTable`` pinned to ``tenant``, on ``table`` (this one by default)."""
        return TenantTable(
            table or self.name,
            partition_key=self.partition_key,
            sort_key=self.sort_key,
            indexes=self.indexes,
            client=self.client,
            tenant=tenant,
            enumeration=self.enumeration,
        )


class Run:
    """One lifecycle command's progress bar, counters, audit line and summary.

    Use it as a context manager: leaving with an exception audits ``failed`` (and
    re-raises), leaving normally audits ``done``. ``progress=None`` shows a bar only
    when stderr is a terminal.
    """

    def __init__(
        self, action: str, tenant: str | None, *, actor: str, progress: bool | None = None
    ) -> None:
        self.action = action
        self.tenant = tenant
        self.actor = actor
        self.summary: dict[str, Any] = {"action": action, "tenant": tenant}
        self._show = sys.stderr.isatty() if progress is None else progress
        self._bar: Any = None
        self._started = time.monotonic()
        self.items = 0
        if audit_log.level == logging.NOTSET:
            audit_log.setLevel(logging.INFO)  # every operator action is logged

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close_bar()
        seconds = time.monotonic() - self._started
        self.summary["seconds"] = round(seconds, 3)
        self.summary["itemsPerSecond"] = round(self.items / seconds, 1) if seconds > 0 else None
        outcome = "done" if exc is None else "failed"
        self.summary["outcome"] = outcome
        detail = "" if exc is None else f"{type(exc).__name__}: {exc}"
        level = logging.INFO if exc is None else logging.WARNING
        line = {
            "message": "tenant lifecycle action",
            "action": self.action,
            "tenant": self.tenant,
            "actor": f"operator:{self.actor}",
            "actorKind": "operator",
            "outcome": outcome,
            "detail": detail,
            "items": self.items,
        }
        audit_log.log(level, json.dumps(line))

    def stage(self, label: str, total: int | None = None) -> None:
        """Start a new progress bar (closing the previous one)."""
        self.close_bar()
        if self._show:
            from tqdm import tqdm  # type: ignore[import-untyped]

            self._bar = tqdm(
                total=total, desc=f"{self.action} {label}", unit="item", file=sys.stderr
            )

    def advance(self, count: int) -> None:
        """``count`` more items done."""
        self.items += count
        if self._bar is not None:
            self._bar.update(count)

    def close_bar(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
