"""Export one tenant's items to JSON Lines, and import such a file into a tenant.

Both are resumable. Export writes ``<out>.partial`` one shard of the enumeration index
at a time and, after each shard, a checkpoint (``<out>.checkpoint``: shards done, bytes
written, the partial checksum). A run killed halfway and started again cuts the partial
file back to the last checkpoint and goes on with the shards not done, so no item is
lost or written twice; the file takes its name, beside its manifest
(``<out>.manifest.json``), only when complete. Import checks the whole file against its
manifest before writing anything, then writes 25 items per request, checkpointing the
lines done; writing an item twice would rewrite the same item anyway.

Only tenant data is exported: the enumeration index lists no control-plane record.
Import never writes one either (decision 16): every partition key is prefixed with the
new tenant, so a line naming ``_events#...`` lands, inert, under ``<tenant>#_events#...``;
webhook subscriptions are made again by their owners (their full endpoints live in SNS).
An export of a tenant that keeps writing is not a snapshot: suspend it first, or
``move`` it, which holds it read-only.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tenantkit._shared.dynamodb.tenant_status import DELETED, OFFBOARDING
from tenantkit.context import validate_tenant_id
from tenantkit.dynamo.table import TenantTable
from tenantkit.errors import ConflictError, InvalidInputError
from tenantkit.lifecycle.records import Checksum, Manifest, decode_line, encode_line
from tenantkit.lifecycle.runs import Run, TableSpec

if TYPE_CHECKING:
    from tenantkit.auth.tenant_admin import TenantAdmin

__all__ = [
    "checksum_of",
    "export_tenant",
    "import_tenant",
    "manifest_path",
    "read_lines",
    "tenant_items",
]

_BATCH_GET = 100
_BATCH_WRITE = 25


def manifest_path(out: Path) -> Path:
    return out.with_name(out.name + ".manifest.json")


def _replace(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (a killed run leaves the old file or the new)."""
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)


def tenant_items(table: TenantTable, shard: int) -> Iterator[list[dict[str, Any]]]:
    """The items of ``table``'s tenant in one shard, a ``BatchGetItem`` (100) at a time."""
    keys: list[dict[str, Any]] = []
    for key in table.enumerate_keys(shards=[shard]):
        keys.append(key)
        if len(keys) == _BATCH_GET:
            yield table.batch_get(keys, consistent_read=True)
            keys = []
    if keys:
        yield table.batch_get(keys, consistent_read=True)


def checksum_of(table: TenantTable, shards: int) -> Checksum:
    """The count and order-independent checksum of every item of ``table``'s tenant."""
    checksum = Checksum()
    for shard in range(shards):
        for items in tenant_items(table, shard):
            for item in items:
                checksum.add(encode_line(item))
    return checksum


def export_tenant(spec: TableSpec, tenant: str, out: Path, run: Run) -> Manifest:
    """Write every item of ``tenant`` to ``out`` (JSON Lines) and its manifest beside it."""
    validate_tenant_id(tenant)
    table = spec.tenant_table(tenant)
    partial = out.with_name(out.name + ".partial")
    checkpoint_file = out.with_name(out.name + ".checkpoint")
    index = f"{spec.enumeration.index}/{spec.enumeration.shards}"  # what the shards are of
    done: list[int] = []
    written = 0
    checksum = Checksum()
    if checkpoint_file.exists() and partial.exists():
        saved = json.loads(checkpoint_file.read_text(encoding="utf-8"))
        if [saved.get(k) for k in ("tenant", "table", "index")] != [tenant, spec.name, index]:
            raise ConflictError(
                f"{checkpoint_file} is the checkpoint of another export; remove it or "
                "choose another --out"
            )
        done, written = list(saved["shards"]), int(saved["bytes"])
        checksum = Checksum.parse(int(saved["items"]), saved["checksum"])
    else:
        partial.write_bytes(b"")
    run.stage("items")
    run.advance(checksum.count)
    with partial.open("r+b") as handle:
        handle.truncate(written)  # drop what a killed run wrote after its last checkpoint
        handle.seek(written)
        for shard in range(spec.enumeration.shards):
            if shard in done:
                continue
            for items in tenant_items(table, shard):
                lines = [encode_line(item) for item in items]
                for line in lines:
                    checksum.add(line)
                handle.write("".join(line + "\n" for line in lines).encode("utf-8"))
                run.advance(len(lines))
            handle.flush()
            os.fsync(handle.fileno())
            done.append(shard)
            written = handle.tell()
            state = {
                "tenant": tenant,
                "table": spec.name,
                "index": index,
                "shards": done,
                "bytes": written,
                "items": checksum.count,
                "checksum": checksum.hexdigest,
            }
            _replace(checkpoint_file, json.dumps(state))
    manifest = Manifest(
        tenant=tenant,
        table=spec.name,
        items=checksum.count,
        checksum=checksum.hexdigest,
        exported_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    _replace(manifest_path(out), manifest.to_json())
    partial.replace(out)
    checkpoint_file.unlink()
    run.summary.update(items=manifest.items, checksum=manifest.checksum, out=str(out))
    return manifest


def read_lines(source: Path) -> Iterator[str]:
    """The lines of an export file, one at a time, split on ``\n`` only.

    JSON escapes every control character, but not U+2028 and U+2029, which
    ``str.splitlines`` would also split on; reading bytes keeps them inside their line.
    """
    with source.open("rb") as handle:
        for raw in handle:
            yield raw.removesuffix(b"\n").decode("utf-8")


def _check(source: Path, manifest: Manifest) -> None:
    """Refuse a file that is not exactly what its manifest says, or has a bad line."""
    checksum = Checksum()
    for line in read_lines(source):
        decode_line(line)
        checksum.add(line)
    if checksum != Checksum.parse(manifest.items, manifest.checksum):
        raise InvalidInputError(
            f"{source} does not match its manifest (count or checksum); it is incomplete or "
            "was changed, so nothing was imported"
        )


def import_tenant(
    spec: TableSpec, source: Path, tenant: str, run: Run, *, admin: TenantAdmin | None = None
) -> int:
    """Write every item of an export file into ``tenant``; returns the number written.

    With ``admin``, a tenant being offboarded or deleted is refused (``ConflictError``):
    its id is a tombstone, and data written under it would outlive the erasure.
    """
    validate_tenant_id(tenant)
    status = None if admin is None else admin.get(tenant)
    if status is not None and status.status in (OFFBOARDING, DELETED):
        raise ConflictError(f"tenant {tenant!r} is {status.status}; nothing was imported")
    manifest = Manifest.from_json(manifest_path(source).read_text(encoding="utf-8"))
    _check(source, manifest)  # the whole file, before any write
    checkpoint_file = source.with_name(f"{source.name}.import-{tenant}-{spec.name}.checkpoint")
    done = 0
    if checkpoint_file.exists():
        saved = json.loads(checkpoint_file.read_text(encoding="utf-8"))
        # A checkpoint of another file of the same name counts for nothing: start over
        # (writing an item again rewrites the same item).
        done = int(saved["lines"]) if saved.get("checksum") == manifest.checksum else 0
    table = spec.tenant_table(tenant)
    run.stage("items", total=manifest.items)
    run.advance(done)
    chunk: list[dict[str, Any]] = []
    for number, line in enumerate(read_lines(source), 1):
        if number <= done:
            continue
        chunk.append(decode_line(line))
        if len(chunk) == _BATCH_WRITE or number == manifest.items:
            table.batch_write(put=chunk)
            run.advance(len(chunk))
            _replace(checkpoint_file, json.dumps({"lines": number, "checksum": manifest.checksum}))
            chunk = []
    checkpoint_file.unlink(missing_ok=True)
    run.summary.update(items=manifest.items, fromTenant=manifest.tenant, checksum=manifest.checksum)
    return manifest.items
